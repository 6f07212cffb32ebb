"""The example ML project: a binary classifier, one module per DVC stage.

Each stage module has a pure, typed core function and `main(argv=None) -> int`;
every input and output path is an explicit argument that dvc.yaml names too.
"""
