"""The on-disk cache of parsed chart output, alone and behind ManifestRenderer; base rendered once per revision."""
import datetime
import json
import os
import shutil

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _render_cache
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (
    ChartSource, ChartSourceOptions, chart_digest)
from ansible_collections.servicemesh.istio.plugins.module_utils._components import (
    parse_components, render_component)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    OWNING_RESOURCE_LABEL, ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._render_cache import (
    RenderCache, is_plain, keep_newest, render_key)
from tests.unit.k8s.fake_cluster import FakeCluster

pytest.importorskip("helm_python")
from ansible_collections.servicemesh.istio.plugins.module_utils._helm import HelmPythonEngine  # noqa: E402

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
OBJECTS = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}]


# -- the pure parts ------------------------------------------------------------------------------

def test_render_key_is_stable_and_changes_with_every_part():
    parts = ["helm_python 0.2.2", "pyyaml", "base", "1.30.3", "sha-chart", "sha-values", "default-base",
             "istio-system", False]
    assert render_key(parts) == render_key(list(parts))
    changed = {render_key(parts[:i] + ["other"] + parts[i + 1:]) for i in range(len(parts))}
    assert len(changed) == len(parts) and render_key(parts) not in changed


@pytest.mark.parametrize("value, plain", [
    (OBJECTS, True), ([{"a": [1, 2.5, None, True, {"b": "c"}]}], True),
    ([{"when": datetime.date(2026, 1, 1)}], False), ([{1: "int key"}], False), ([{"b": b"bytes"}], False),
    ([{"n": float("nan")}], False), ([{"i": [float("inf")]}], False), ([{"s": {1, 2}}], False),
])
def test_only_what_a_json_round_trip_keeps_is_plain(value, plain):
    assert is_plain(value) is plain


def test_keep_newest_deletes_the_oldest_beyond_the_limit():
    assert keep_newest({"a": 3.0, "b": 1.0, "c": 2.0, "d": 4.0}, 2) == ["b", "c"]
    assert keep_newest({"a": 1.0}, 2) == []


# -- the cache directory -------------------------------------------------------------------------

def test_put_then_get_gives_the_objects_back(tmp_path):
    cache = RenderCache(str(tmp_path / "rendered"))
    assert cache.get("k1") is None
    assert cache.put("k1", OBJECTS)
    assert cache.get("k1") == OBJECTS and cache.get("k1") is not cache.get("k1")  # fresh objects each time
    assert cache.hits == 3 and cache.misses == 1
    assert os.listdir(tmp_path / "rendered") == ["k1.json"]  # no temporary file left


@pytest.mark.parametrize("content", [b"{not json", b"", b"[]", b'{"key": "other", "objects": []}',
                                     b'{"key": "k1", "objects": [1]}', b"\xff\xfe"])
def test_a_corrupt_entry_is_a_miss_and_is_written_again(tmp_path, content):
    cache = RenderCache(str(tmp_path))
    (tmp_path / "k1.json").write_bytes(content)
    assert cache.get("k1") is None
    assert cache.put("k1", OBJECTS) and cache.get("k1") == OBJECTS


def test_a_directory_that_cannot_be_created_is_no_cache(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    cache = RenderCache(str(tmp_path / "file" / "rendered"))
    assert cache.put("k1", OBJECTS) is False
    assert cache.get("k1") is None


def test_a_read_only_directory_is_no_cache_and_no_error(tmp_path, monkeypatch):
    cache = RenderCache(str(tmp_path))
    assert cache.put("k1", OBJECTS)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(_render_cache.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(_render_cache.os, "utime", read_only)
    assert cache.put("k2", OBJECTS) is False
    assert cache.get("k1") == OBJECTS  # what is there is still read
    assert sorted(os.listdir(tmp_path)) == ["k1.json"]


def test_no_directory_is_no_cache():
    cache = RenderCache(None)
    assert cache.put("k1", OBJECTS) is False and cache.get("k1") is None


def test_objects_that_json_would_change_are_not_cached(tmp_path):
    cache = RenderCache(str(tmp_path))
    assert cache.put("k1", [{"kind": "ConfigMap", "data": {"when": datetime.date(2026, 1, 1)}}]) is False
    assert os.listdir(tmp_path) == []


def test_only_the_newest_entries_are_kept_and_a_read_makes_an_entry_new(tmp_path):
    cache = RenderCache(str(tmp_path), max_entries=3)
    for number in range(3):
        cache.put("k%d" % number, OBJECTS)
        os.utime(tmp_path / ("k%d.json" % number), (1000 + number, 1000 + number))
    assert cache.get("k0") == OBJECTS  # read: now the newest
    cache.put("k3", OBJECTS)
    cache.put("k4", OBJECTS)
    assert sorted(os.listdir(tmp_path)) == ["k0.json", "k3.json", "k4.json"]


def test_temporary_files_of_killed_runs_are_removed_once_old(tmp_path):
    cache = RenderCache(str(tmp_path))
    (tmp_path / ".partial-old").write_text("{")
    (tmp_path / ".partial-new").write_text("{")
    os.utime(tmp_path / ".partial-old", (1000, 1000))
    cache.put("k1", OBJECTS)
    assert sorted(os.listdir(tmp_path)) == [".partial-new", "k1.json"]


# -- behind the renderer -------------------------------------------------------------------------

class CountingEngine(HelmPythonEngine):
    """The real engine, counting renders per chart."""

    def __init__(self):
        super().__init__()
        self.renders = []

    def render(self, location, values, release_name, namespace, is_upgrade=False):
        self.renders.append(location.chart)
        return super().render(location, values, release_name, namespace, is_upgrade=is_upgrade)


def renderer_for(tmp_path, chart_dir=CHARTS, cache_dir="cache"):
    source = ChartSource(ChartSourceOptions(chart_dir=chart_dir, chart_cache_dir=str(tmp_path / cache_dir)))
    return ManifestRenderer(source, engine=CountingEngine())


def plan(**kwargs):
    return plan_revision(ControlPlane(**dict({"name": "default", "version": "v1.30.3"}, **kwargs)),
                         builtin_catalog())


def test_the_cache_lives_beside_the_chart_cache(tmp_path):
    renderer = renderer_for(tmp_path)
    assert renderer.cache.directory == str(tmp_path / "cache" / "rendered")


def test_an_unchanged_re_run_neither_renders_nor_parses(tmp_path, monkeypatch):
    first = renderer_for(tmp_path).istiod(plan())
    again = renderer_for(tmp_path)  # a new run: a new process would have a new renderer
    monkeypatch.setattr("ansible_collections.servicemesh.istio.plugins.module_utils._manifest.parse_manifests",
                        lambda text: pytest.fail("parsed YAML on a cache hit"))
    second = again.istiod(plan())
    assert again.engine.renders == [] and again.cache.hits == 1
    assert second.objects == first.objects and second.version == first.version
    # post-processing still runs on a hit: the owning-resource label is in the entry, not in the objects
    entry = json.loads(next((tmp_path / "cache" / "rendered").glob("*.json")).read_text())
    assert OWNING_RESOURCE_LABEL in json.dumps(entry)
    assert OWNING_RESOURCE_LABEL not in json.dumps(second.objects)


def test_changed_values_release_or_upgrade_miss(tmp_path):
    renderer = renderer_for(tmp_path)
    renderer.istiod(plan())
    renderer.istiod(plan(values={"pilot": {"env": {"A": "b"}}}))
    renderer.istiod(plan(namespace="istio-blue"))
    renderer.istiod(plan(), is_upgrade=True)
    renderer.istiod(plan())
    assert renderer.engine.renders == ["istiod"] * 4 and renderer.cache.hits == 1


def test_a_changed_chart_misses(tmp_path):
    mirror = tmp_path / "charts"
    shutil.copytree(os.path.join(CHARTS, "1.30.3"), str(mirror / "1.30.3"))
    before = chart_digest(str(mirror / "1.30.3" / "cni"))
    renderer_for(tmp_path, str(mirror)).cni(plan().version)
    with open(str(mirror / "1.30.3" / "cni" / "templates" / "extra.yaml"), "w", encoding="utf-8") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: istio-cni\n")
    assert chart_digest(str(mirror / "1.30.3" / "cni")) != before
    renderer = renderer_for(tmp_path, str(mirror))
    rendered = renderer.cni(plan().version)
    assert renderer.engine.renders == ["cni"] and "extra" in {o["metadata"]["name"] for o in rendered.objects}


def test_a_corrupt_entry_is_rendered_again_and_rewritten(tmp_path):
    first = renderer_for(tmp_path).istiod(plan())
    for entry in (tmp_path / "cache" / "rendered").glob("*.json"):
        entry.write_text('{"key": "truncated", "obj')
    renderer = renderer_for(tmp_path)
    assert renderer.istiod(plan()).objects == first.objects and renderer.engine.renders == ["istiod"]
    again = renderer_for(tmp_path)
    again.istiod(plan())
    assert again.engine.renders == []


def test_a_cache_dir_that_cannot_be_written_renders_every_time(tmp_path):
    (tmp_path / "ro").write_text("a file where the cache directory would be")
    first = renderer_for(tmp_path, cache_dir="ro").istiod(plan())
    renderer = renderer_for(tmp_path, cache_dir="ro")
    assert renderer.istiod(plan()).objects == first.objects and renderer.engine.renders == ["istiod"]


def test_an_engine_without_a_cache_id_is_never_cached(tmp_path):
    renderer = renderer_for(tmp_path)
    renderer.engine.cache_id = None
    renderer.istiod(plan())
    renderer.istiod(plan())
    assert renderer.engine.renders == ["istiod", "istiod"] and not (tmp_path / "cache" / "rendered").exists()


# -- base rendered once ----------------------------------------------------------------------------

def test_the_base_component_is_rendered_once(tmp_path):
    renderer = renderer_for(tmp_path)
    renderer.cache = RenderCache(None)
    rendered = render_component(renderer, plan(), parse_components(["base"])[0])
    assert renderer.engine.renders == ["base"]
    kinds = [o["kind"] for o in rendered.objects]
    assert kinds.count("CustomResourceDefinition") == 3 and "ValidatingWebhookConfiguration" in kinds


@pytest.mark.parametrize("strategy, validator", [("InPlace", True), ("RevisionBased", False)])
def test_install_revision_renders_base_once_for_the_crds_and_the_validator(tmp_path, strategy, validator):
    renderer = renderer_for(tmp_path)
    renderer.cache = RenderCache(None)
    cluster = FakeCluster()
    cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {}}})
    control_plane = ControlPlane(name="default", version="v1.30.3", strategy=strategy)
    lifecycle.install_revision(cluster, renderer, control_plane, plan_revision(control_plane, builtin_catalog()),
                               lifecycle.Options(wait=False))
    assert sorted(renderer.engine.renders) == ["base", "istiod"]
    kinds = [obj["kind"] for obj in cluster.store.values()]
    assert kinds.count("CustomResourceDefinition") == 3
    assert ("ValidatingWebhookConfiguration" in {o["kind"] for o in cluster.store.values()
                                                 if o["metadata"]["name"] == "istiod-default-validator"}) is validator
    crd = next(o for o in cluster.store.values() if o["kind"] == "CustomResourceDefinition")
    assert crd["metadata"]["annotations"]["servicemesh.istio/istio-version"] == "1.30.3"
