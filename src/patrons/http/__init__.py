"""What routers may import: request decoding, the response writer, the error renderer.

Below every resource package and above core/db: nothing here imports a resource at run time
(types only, under TYPE_CHECKING), so any resource router can use it without a cycle.
"""
