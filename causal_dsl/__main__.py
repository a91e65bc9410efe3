"""``python -m causal_dsl``: the same as the ``causal`` command."""

from causal_dsl.cli import main

if __name__ == "__main__":
    main(prog_name="causal")
