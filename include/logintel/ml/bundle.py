"""The model artifact: what scoring needs, saved with joblib, checked on load.

A bundle carries a FORMAT number (:data:`BUNDLE_FORMAT`).  :func:`load` checks the file's
sha256 (the registry's), then that it holds a :class:`ModelBundle` of this format; an
artifact of another format - including the pickled ``logintel.model.ModelBundle`` of
format 1, whose module no longer exists - raises :class:`ArtifactError` naming the file,
its format and the expected one.  Retraining (``logintel train``) writes a new one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..hashing import file_sha256

if TYPE_CHECKING:  # the estimators import scikit-learn: not at import time
    from .anomaly_model import AnomalyModel
    from .features import TemplateStats
    from .level_model import LevelModel

# 1: logintel.model.ModelBundle (one flat dataclass); 2: logintel.ml estimators
BUNDLE_FORMAT = 2
RETRAIN = "retrain with `logintel train`"


class ArtifactError(RuntimeError):
    """A model artifact is missing, unreadable, fails its checksum or has another format."""


@dataclass
class ModelBundle:
    """Everything scoring needs (joblib-serialisable)."""

    level_model: LevelModel
    anomaly_model: AnomalyModel
    templates: TemplateStats          # per (template_key, service) seen in training
    version: str = ""
    created_at: str = ""
    sklearn_version: str = ""
    format: int = BUNDLE_FORMAT
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


def save(bundle: ModelBundle, directory: Path, version: str) -> tuple[Path, str]:
    """Write ``<directory>/logintel-model-<version>-<sha12>.joblib`` atomically; return (absolute path, sha256).

    The name carries the first 12 hex digits of the file's sha256: version names come from row
    counts, so two databases (the demo's, an evaluation's scratch one) training "the same" version
    into one models folder write two files, and neither replaces the other's champion. The path is
    absolute, so any process (a Celery worker with another working directory) finds it.
    """
    import joblib

    directory = Path(directory).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    bundle.version = version
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in version)
    tmp = directory / f".logintel-model-{safe}.joblib.tmp{os.getpid()}"
    try:
        joblib.dump(bundle, tmp, compress=3)
        with open(tmp, "rb+") as fh:  # on disk before it gets its final name
            os.fsync(fh.fileno())
        sha = file_sha256(tmp)
        path = directory / f"logintel-model-{safe}-{sha[:12]}.joblib"
        os.replace(tmp, path)  # same name means same bytes: replacing it changes nothing
    finally:
        tmp.unlink(missing_ok=True)
    return path, sha


def load(path: Path, sha256: str) -> ModelBundle:
    """Load a bundle after checking its sha256 and format; raises :class:`ArtifactError`
    naming the file."""
    import joblib

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} is missing")
    actual = file_sha256(path)
    if sha256 and actual.lower() != str(sha256).lower():
        raise ArtifactError(f"model artifact {path} fails its checksum: expected sha256 {sha256}, got {actual}")
    try:
        bundle = joblib.load(path)
    except (ModuleNotFoundError, AttributeError) as exc:  # a class of an older code base
        raise ArtifactError(f"model artifact {path} has {_old_format(exc)}, expected format {BUNDLE_FORMAT}: "
                            f"{RETRAIN}") from exc
    except Exception as exc:  # corrupt pickle, incompatible library
        raise ArtifactError(f"model artifact {path} cannot be loaded: {exc}") from exc
    if not isinstance(bundle, ModelBundle):
        kind = f"{type(bundle).__module__}.{type(bundle).__qualname__}"
        raise ArtifactError(f"model artifact {path} holds a {kind}, not a ModelBundle of format {BUNDLE_FORMAT}: "
                            f"{RETRAIN}")
    fmt = getattr(bundle, "format", None)
    if fmt != BUNDLE_FORMAT:
        raise ArtifactError(f"model artifact {path} has format {fmt}, expected format {BUNDLE_FORMAT}: {RETRAIN}")
    return bundle


def _old_format(exc: Exception) -> str:
    """What an unpickling failure says about the artifact's format."""
    if getattr(exc, "name", None) == "logintel.model" or "logintel.model'" in str(exc):
        return "format 1 (logintel.model.ModelBundle)"
    return f"an unknown older format ({exc})"
