"""A small shop that mounts flask-loyalty-rewards exactly as the docs tell a host to.

Run it with ``make shop`` (``flask --app example_shop.app seed`` then ``... run``).
"""
