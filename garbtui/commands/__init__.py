"""One module per `garbtui` command: NAME, HELP, add_arguments(parser) and run(args) -> exit code."""
