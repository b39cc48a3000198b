"""berxit's product commands (berxit-train, berxit-sweep, berxit-export, berxit-predict): each parses its arguments and
calls the library. The lab's commands are in `lab/scripts/`."""
