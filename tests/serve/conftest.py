from __future__ import annotations

from pathlib import Path

import pytest
from served_project import Served, build


@pytest.fixture(scope="session")
def served(pipeline_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build(pipeline_template, tmp_path_factory.mktemp("served"))
