"""`{% load assetpipe %}`: the Jinja helpers as Django tags, same output.

    {% asset_script "js/site.js" defer=True %}
    {% asset_stylesheet "css/site.css" media="print" %}
    <img src="{% asset_url 'img/logo.png' %}">
    {% asset_importmap "js/app.mjs" %}        {# <script type="importmap"> #}
    {% asset_modulepreload "js/app.mjs" %}    {# its static import closure #}

Tags carry `integrity` and `crossorigin="anonymous"`; with ASSETPIPE_DEV a
bundle expands to one tag per member.  The markup is built by
assetpipe.jinja.AssetHelpers (markupsafe's Markup has `__html__`, which
Django's escaping honours), so both engines print the same bytes.
"""
from __future__ import annotations

from django import template

from assetpipe.contrib.django.conf import helpers

register = template.Library()


@register.simple_tag
def asset_url(name: str) -> str:
    return helpers().asset_url(name)


@register.simple_tag
def asset_script(name: str, **attrs) -> str:
    return helpers().script_tag(name, **attrs)


@register.simple_tag
def asset_stylesheet(name: str, **attrs) -> str:
    return helpers().stylesheet_tag(name, **attrs)


@register.simple_tag
def asset_importmap(*entries: str) -> str:
    """The [importmap] as `<script type="importmap">` with an integrity section
    for the mapped modules, `entries` and their static imports."""
    return helpers().importmap_tag(*entries)


@register.simple_tag
def asset_modulepreload(entry: str) -> str:
    """`<link rel="modulepreload">` for `entry` and its static import closure."""
    return helpers().modulepreload_tags(entry)
