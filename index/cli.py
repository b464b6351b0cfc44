"""``switchboard index``: operate the index.

- ``rebuild``: replay ``docs.ingest`` into a fresh document store (``index.rebuild``);
- ``encoder``: load the encoder the index agent would load on this machine, exporting its ONNX
  graph into the cache first where it is not there yet, so that an image build or a set-up step
  pays for the export instead of an agent's first start.
"""

from __future__ import annotations

import json
import time

from index.encoder import make_encoder
from index.rebuild import add_rebuild
from mesh.settings import Settings

__all__ = ["register", "prepare_encoder"]


def prepare_encoder(settings: Settings) -> dict:
    """Loads the settings' encoder (exporting its graph if need be) and says what it is and where its graph is."""
    t0 = time.perf_counter()
    encoder = make_encoder(settings.encoder_backend, threads=1, max_length=settings.encoder_max_length,
                           precision=settings.encoder_precision, cache_dir=settings.encoder_cache_dir)
    encoder.encode(["ready"])
    graph = getattr(encoder, "graph", None)  # torch loads its weights from the package: no graph
    return {"backend": encoder.backend, "model_id": encoder.model_id, "graph": str(graph) if graph else None,
            "seconds": round(time.perf_counter() - t0, 1)}


def _encoder_command(args, settings: Settings) -> int:
    report = prepare_encoder(settings)
    where = f", graph {report['graph']}" if report["graph"] else ""
    print(json.dumps(report) if args.json else
          f"encoder ready: {report['backend']} ({report['model_id']}{where}) in {report['seconds']} s")
    return 0


def register(sub) -> None:
    """Add `switchboard index` and its actions to the CLI (entry point switchboard.commands)."""
    index = sub.add_parser("index", help="operate the index: rebuild the document store, prepare the encoder")
    actions = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    add_rebuild(actions)
    encoder = actions.add_parser("encoder", help="load this machine's encoder once, exporting its ONNX graph into "
                                 "the cache (SWITCHBOARD_ENCODER_CACHE_DIR) if it is not there yet")
    encoder.add_argument("--json", action="store_true", help="print one JSON object")
    encoder.set_defaults(fn=_encoder_command)
