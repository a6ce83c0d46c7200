"""`sync --cors` (and `[serve] cors`) against a real S3-protocol server (moto_server)."""
from __future__ import annotations

import pytest
import test_sync
from botocore.exceptions import ClientError
from test_sync import PREFIX

from assetpipe.cli import main
from assetpipe.policy import bucket_cors_rule

pytestmark = pytest.mark.integration
# test_sync's fixtures: moto_server, a fresh bucket, the recording proxy, a built site
s3_endpoint, bucket, proxy = test_sync.s3_endpoint, test_sync.bucket, test_sync.proxy
site = test_sync.site


def bucket_rules(client, name) -> list[dict]:
    try:
        return client.get_bucket_cors(Bucket=name)["CORSRules"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchCORSConfiguration"
        return []


def run(config, name, endpoint, *extra) -> int:
    return main(["sync", f"s3://{name}/{PREFIX}", "--config", str(config),
                 "--endpoint-url", endpoint, "--quiet", *extra])


def without_ids(rules: list[dict]) -> list[dict]:
    return [{k: v for k, v in rule.items() if k != "ID"} for rule in rules]


def test_cors_flag_sets_the_rule_and_a_second_sync_changes_nothing(site, bucket, proxy):
    client, name = bucket
    assert bucket_rules(client, name) == []
    assert run(site, name, proxy.url, "--cors") == 0
    # url_prefix "/static/" names no origin: the flag asks for "*"
    assert without_ids(bucket_rules(client, name)) == [bucket_cors_rule("*")]
    proxy.reset()
    assert run(site, name, proxy.url, "--cors") == 0
    assert proxy.ops("put") == []          # no object, no CORS configuration written
    assert without_ids(bucket_rules(client, name)) == [bucket_cors_rule("*")]


def test_cdn_url_prefix_sets_the_rule_without_the_flag(site, bucket, s3_endpoint):
    client, name = bucket
    site.write_text(site.read_text().replace(
        'output = "out"\n', 'output = "out"\nurl_prefix = "https://cdn.example.com/static/"\n'
        '[serve]\ncors = "https://www.example.com"\n'))
    assert run(site, name, s3_endpoint) == 0
    assert without_ids(bucket_rules(client, name)) == [bucket_cors_rule("https://www.example.com")]


def test_same_origin_without_the_flag_leaves_the_bucket_alone(site, bucket, s3_endpoint):
    client, name = bucket
    assert run(site, name, s3_endpoint) == 0
    assert bucket_rules(client, name) == []


def test_other_rules_of_the_bucket_are_kept(site, bucket, s3_endpoint):
    client, name = bucket
    theirs = {"AllowedOrigins": ["https://upload.example.com"], "AllowedMethods": ["PUT"]}
    client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [theirs]})
    assert run(site, name, s3_endpoint, "--cors", "--dry-run") == 0
    assert without_ids(bucket_rules(client, name)) == [theirs]     # dry run: unchanged
    assert run(site, name, s3_endpoint, "--cors") == 0
    assert without_ids(bucket_rules(client, name)) == [theirs, bucket_cors_rule("*")]


def test_cors_flag_with_a_folder_destination_is_a_usage_error(site, tmp_path, capsys):
    assert main(["sync", str(tmp_path / "dest"), "--config", str(site), "--cors"]) == 2
    assert "--cors only applies to s3://" in capsys.readouterr().err
