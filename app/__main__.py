"""`python -m app` runs the `dpa` command.

The guard matters: worker processes (PDF rendering) import the parent's main module, and
must not run the command line again.
"""

from app.cli import main

if __name__ == "__main__":
    main()
