"""`python -m packager` entry point."""

from packager.cli.main import main

main()
