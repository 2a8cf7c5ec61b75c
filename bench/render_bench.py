"""How fast does CampaignRenderer.render() personalise one email?

Usage: .venv/bin/python bench/render_bench.py [N]

Builds a realistic bulletin (intro + 12 articles) in a throw-away in-memory
SQLite database, compiles it once, then renders N personalised messages and
prints renders/second and the time per render; then the same with the MIME
bytes built (``message().as_bytes()``), which the sending engine pays as well.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def build_campaign():  # type: ignore[no-untyped-def]
    from campaigns.models import Article, Campaign, CampaignArticle
    from subscribers.models import MailingList

    # Tables straight from the models: the bench must not depend on migrations being current.
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    mailing_list = MailingList.objects.create(slug="mining", name="Mining watch")
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.BULLETIN,
        subject="{{ first_name|default:'Friend' }}, this week in the Andes",
        preheader="Twelve stories from the mining frontier",
        intro_markdown='Dear {{ name|default:"friend" }},\n\nThis week: blockades, courts, and a '
        "[new report](https://example.net/report) on water.",
    )
    campaign.lists.set([mailing_list])
    summary = (
        "Police moved against the road blockade at dawn; the regional ombudsman counted the injured. "
        "Leaders of the [peasant patrols](https://example.net/rondas) say the company brought in guards."
    )
    for n in range(12):
        article = Article.objects.create(
            title=f"Story {n}: the community holds the road",
            slug=f"story-{n}",
            summary=summary,
            source="Radio Comunitaria",
            lead_image_url=f"/media/story-{n}.jpg",
            lead_image_alt="People on the road",
            status=Article.Status.PUBLISHED,
            published_at=timezone.now(),
        )
        CampaignArticle.objects.create(campaign=campaign, article=article, position=n)
    return campaign


def main() -> None:
    from campaigns.sending.rendering import CampaignRenderer
    from subscribers.models import Subscriber

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    campaign = build_campaign()
    people = [
        Subscriber(pk=i + 1, email=f"reader{i}@example.org", name=f"Reader {i}" if i % 3 else "", language="en")
        for i in range(count)
    ]
    started = time.perf_counter()
    renderer = CampaignRenderer(campaign)
    message = renderer.render(subscriber=people[0], delivery_id=1)
    compile_ms = (time.perf_counter() - started) * 1000
    html_kb = len(message.alternatives[0][0].encode()) / 1024
    print(f"compile (templates + CSS inlining, once per language): {compile_ms:.1f} ms; HTML part {html_kb:.1f} KB")
    print(f"links wrapped by first-party click tracking: {len(set(renderer.version('en').links.values()))} distinct")

    # CPU time of this process: the machine is shared, wall time would measure the neighbours.
    for label, tracking in (("first-party tracking on", True), ("tracking off (privacy)", False)):
        renderer.tracking_allowed = tracking
        started = time.process_time()
        for i, person in enumerate(people):
            renderer.render(subscriber=person, delivery_id=i)
        seconds = time.process_time() - started
        print(f"render(), {label}: {count / seconds:,.0f} renders/s, {seconds / count * 1000:.3f} ms CPU each")

    sample = people[: max(count // 5, 1)]
    started = time.process_time()
    for i, person in enumerate(sample):
        renderer.render(subscriber=person, delivery_id=i).message().as_bytes()
    seconds = time.process_time() - started
    print(
        f"render() + Django's MIME bytes: {len(sample) / seconds:,.0f} messages/s, "
        f"{seconds / len(sample) * 1000:.3f} ms CPU each (the engine may build the bytes its own way)"
    )


if __name__ == "__main__":
    main()
