"""The search section: Elasticsearch or OpenSearch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.ports import Port

# ES_PRESET's replica count per preset (Mastodon's chewy settings): a replica needs a second node.
REPLICAS = {"single_node_cluster": 0, "small_cluster": 1, "large_cluster": 1}


class Search(Strict):
    """Full-text search: Elasticsearch or OpenSearch on the hosts of the group `search`, or an
    existing cluster at `external_host`; ES_* for the app and `tootctl search deploy` once."""

    engine: Literal["elasticsearch", "opensearch"] = Field(
        "elasticsearch", description="Which server the search hosts run, from its maker's apt repository."
    )
    series: str = Field(
        "8.x", description="The apt repository's release series, e.g. 8.x (Elasticsearch), 2.x (OpenSearch)."
    )
    port: Port = Field(9200, description="ES_PORT: the HTTP port of the search hosts.")
    preset: Literal["single_node_cluster", "small_cluster", "large_cluster"] = Field(
        "single_node_cluster", description="ES_PRESET: shards and replicas Mastodon creates its indices with."
    )
    heap_mb: int = Field(1024, ge=256, le=31744, description="JVM heap of each search host (at most half its memory).")
    external_host: str | None = Field(
        None, description="Address of an existing cluster (a managed service) instead of hosts in 'search'."
    )
