"""Cluster support: Ray Jobs submission (``evalray submit`` / ``evalray jobs``), KubeRay manifest rendering and offline
CRD validation (``evalray kuberay``). Nothing here starts Ray at import time."""
