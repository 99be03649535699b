"""``python -m derive`` runs the command line."""

from derive import cli

if __name__ == "__main__":
    cli.main()
