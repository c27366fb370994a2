"""Analysis: pure, vectorised functions over (Geo)DataFrames; `pipeline` composes them.

No I/O and no database here: inputs come as a `Snapshot` of the workspace, outputs are frames.
"""
