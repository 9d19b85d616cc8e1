# The sample project is another team's test suite: it is run in a subprocess by
# test_plugin.py, never collected as part of Patrons' own tests.
collect_ignore = ["sample_project"]
