"""The shop's payments and shipping, written with FastStream: see README.md."""
