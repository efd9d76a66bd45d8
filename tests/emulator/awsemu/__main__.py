"""The emulator's entry point: python3 tests/emulator/awsemu ARGS (the directory), or
python3 -m tests.emulator.awsemu ARGS from the repository's root."""

import os
import sys

if not __package__:
    # run as a directory or a file: sys.path[0] is this directory, whose module names
    # (model, server, ...) must not shadow others; import the package from its parent
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))
    from awsemu.server import main
else:
    from .server import main

sys.exit(main())
