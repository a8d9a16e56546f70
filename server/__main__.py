"""`python -m server --stdio`: the backend over stdio (the same as `tether serve --stdio`).

That exact command line goes straight to the server: the editor and `tether exec` start it on
every launch, and the CLI's argument parser would be on the cold start's path for nothing.
Anything else is the CLI's (`--help`, a typo) with `serve` in front."""

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["--stdio"]:
        from server.app import main_stdio

        sys.exit(main_stdio())
    from server.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
