"""make layers (scripts/check_layers.sh): the tree passes, and a lower layer that includes a
higher one fails the check with a line naming the file and the layer."""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(root):
    return subprocess.run(["sh", os.path.join(root, "scripts", "check_layers.sh")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class LayersTest(unittest.TestCase):
    def test_tree_passes(self):
        res = check(ROOT)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_upward_include_fails(self):
        tmp = tempfile.mkdtemp(prefix="iamkeys-layers-")
        try:
            for d in ("src", "scripts"):
                shutil.copytree(os.path.join(ROOT, d), os.path.join(tmp, d))
            for path, inc, layer in (("src/core/csv.c", "engine/audit.h", "engine"),
                                     ("src/engine/audit.c", "cmd/cli.h", "cmd"),
                                     ("src/aws/iam.c", "sinks/sink.h", "sinks")):
                with open(os.path.join(tmp, path)) as f:
                    text = f.read()
                with open(os.path.join(tmp, path), "w") as f:
                    f.write('#include "%s"\n' % inc + text)
                res = check(tmp)
                self.assertEqual(res.returncode, 1, res)
                self.assertIn("layers: %s (%s) includes a header of %s, a higher layer"
                              % (path, path.split("/")[1], layer), res.stderr)
                with open(os.path.join(tmp, path), "w") as f:
                    f.write(text)
        finally:
            shutil.rmtree(tmp)
