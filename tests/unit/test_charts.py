import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (
    ChartSource, ChartSourceOptions, sha256_hex)
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ChartSourceError
from tests.helpers.chart_repo import ChartRepo

CHART_YAML = "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: {version}\n"
TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-cm\ndata:\n  version: {{{{ .Chart.Version }}}}\n"


def make_chart(root, name="istiod", version="1.30.3"):
    chart = root / name
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML.format(name=name, version=version))
    (chart / "values.yaml").write_text("{}\n")
    (chart / "templates" / "cm.yaml").write_text(TEMPLATE.format(name=name))
    return chart


@pytest.fixture
def repo(tmp_path):
    src = tmp_path / "src"
    with ChartRepo(str(tmp_path / "repo")) as served:
        served.add_chart(str(make_chart(src, "istiod", "1.30.3")))
        served.add_chart(str(make_chart(src / "b", "base", "1.30.3")))
        served.write_index()
        yield served


def source_for(repo, tmp_path, **kwargs):
    return ChartSource(ChartSourceOptions(chart_repo=repo.url, chart_cache_dir=str(tmp_path / "cache"), **kwargs))


def test_mirror_directory_with_version_folders(tmp_path):
    make_chart(tmp_path / "mirror" / "1.30.3")
    source = ChartSource(ChartSourceOptions(chart_dir=str(tmp_path / "mirror")))
    location = source.locate("istiod", "v1.30.3")
    assert location.path == str(tmp_path / "mirror" / "1.30.3" / "istiod")
    assert not location.is_archive


def test_mirror_directory_with_v_prefixed_folders(tmp_path):
    make_chart(tmp_path / "mirror" / "v1.30.3")
    location = ChartSource(ChartSourceOptions(chart_dir=str(tmp_path / "mirror"))).locate("istiod", "1.30.3")
    assert location.path.endswith(os.path.join("v1.30.3", "istiod"))


def test_mirror_directory_with_archives(tmp_path, repo):
    mirror = tmp_path / "tgz-mirror"
    mirror.mkdir()
    (mirror / "istiod-1.30.3.tgz").write_bytes((tmp_path / "repo" / "istiod-1.30.3.tgz").read_bytes())
    location = ChartSource(ChartSourceOptions(chart_dir=str(mirror))).locate("istiod", "1.30.3")
    assert location.is_archive and location.path == str(mirror / "istiod-1.30.3.tgz")


def test_mirror_never_downloads_and_names_what_it_looked_for(tmp_path):
    source = ChartSource(ChartSourceOptions(chart_dir=str(tmp_path)), fetch=lambda url: pytest.fail("downloaded"))
    with pytest.raises(ChartSourceError) as err:
        source.locate("istiod", "1.30.3")
    assert "istiod-1.30.3.tgz" in str(err.value) and str(tmp_path) in str(err.value)


def test_repository_download_checks_digest_and_fills_cache(tmp_path, repo):
    source = source_for(repo, tmp_path)
    location = source.locate("istiod", "1.30.3")
    assert location.origin == repo.url + "/istiod-1.30.3.tgz"
    assert repo.requests == ["/index.yaml", "/istiod-1.30.3.tgz"]
    data = (tmp_path / "cache" / "istiod-1.30.3.tgz").read_bytes()
    assert (tmp_path / "cache" / "istiod-1.30.3.tgz.sha256").read_text() == sha256_hex(data)


def test_cache_hit_makes_no_request(tmp_path, repo):
    source_for(repo, tmp_path).locate("istiod", "1.30.3")
    before = list(repo.requests)
    second = source_for(repo, tmp_path)
    location = second.locate("istiod", "1.30.3")
    assert repo.requests == before
    assert second.downloads == []
    assert location.path == str(tmp_path / "cache" / "istiod-1.30.3.tgz")


def test_damaged_cache_entry_is_downloaded_again(tmp_path, repo):
    source_for(repo, tmp_path).locate("istiod", "1.30.3")
    (tmp_path / "cache" / "istiod-1.30.3.tgz").write_bytes(b"truncated")
    source = source_for(repo, tmp_path)
    source.locate("istiod", "1.30.3")
    assert source.downloads[-1].endswith("/istiod-1.30.3.tgz")


def test_digest_mismatch_is_rejected_and_not_cached(tmp_path, repo):
    repo.replace_archive("istiod-1.30.3.tgz", (tmp_path / "repo" / "base-1.30.3.tgz").read_bytes())
    with pytest.raises(ChartSourceError, match="digest mismatch"):
        source_for(repo, tmp_path).locate("istiod", "1.30.3")
    assert not (tmp_path / "cache" / "istiod-1.30.3.tgz").exists()


def test_unknown_version_in_index(tmp_path, repo):
    with pytest.raises(ChartSourceError, match=r"istiod version 1.29.6 is not in .*index.yaml \(it has 1.30.3\)"):
        source_for(repo, tmp_path).locate("istiod", "1.29.6")


def test_unreachable_repository_names_url_and_mirror(tmp_path):
    source = ChartSource(ChartSourceOptions(chart_repo="http://127.0.0.1:9/charts",
                                            chart_cache_dir=str(tmp_path / "cache")))
    with pytest.raises(ChartSourceError) as err:
        source.locate("istiod", "1.30.3")
    message = str(err.value)
    assert "http://127.0.0.1:9/charts/index.yaml" in message
    assert "chart_dir" in message and str(tmp_path / "cache") in message


def test_unknown_chart_name(tmp_path):
    with pytest.raises(ChartSourceError, match="unknown chart 'pilot'"):
        ChartSource(ChartSourceOptions(chart_dir=str(tmp_path))).locate("pilot", "1.30.3")
