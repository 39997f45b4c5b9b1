"""The command-line interface: thin click commands over the library.

One module per subcommand: parse the options, call one library function with plain
keyword arguments, render its result with `reporting`, and turn errors into exit codes.
May import everything.
"""
