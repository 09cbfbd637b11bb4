"""The ``mipshop`` command line."""
