"""Context for the example site's pages (`[pages] context = "sitedata:context"`).

Called once per render; it reads products.json each time, so editing that
file shows up on the next tick of `assetpipe pages --every`.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def context() -> dict:
    with open(os.path.join(HERE, "products.json"), encoding="utf-8") as f:
        products = json.load(f)
    return {"title": "assetpipe example site", "products": products}
