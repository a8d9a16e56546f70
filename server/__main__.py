"""`python -m server --stdio`: the backend over stdio (the same as `tether serve --stdio`)."""

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
