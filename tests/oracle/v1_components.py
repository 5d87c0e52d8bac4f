"""The KFP SDK's reading of v1 component files: loads each `v1_components/*.yaml` with
`kfp.components.load_component_from_text` and compiles it with `kfp.compiler.Compiler`.

Usage: v1_components.py OUT_DIR  — writes OUT_DIR/<name>.yaml for each file.
"""
import pathlib
import sys

from kfp import compiler, components

here = pathlib.Path(__file__).parent / "v1_components"
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for f in sorted(here.glob("*.yaml")):
    comp = components.load_component_from_text(f.read_text())
    compiler.Compiler().compile(comp, str(out / f.name))
    print(f.name)
