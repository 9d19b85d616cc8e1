from patrons.cli.main import app

app()
