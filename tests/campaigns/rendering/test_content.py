"""Campaign emails as recipients see them: content, names, languages, appeals, style, size, MIME."""

from __future__ import annotations

import email
import re
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from campaigns import merge_fields
from campaigns.models import Campaign, CampaignArticle, CampaignTranslation
from campaigns.sending.rendering import (
    GMAIL_CLIP_BYTES,
    CampaignRenderer,
    message_size_warning,
    render_preview,
)
from subscribers.models import Subscriber
from tests.support.rendering import SITE, html_of, make_article, make_campaign

pytestmark = pytest.mark.django_db


def test_a_bulletin_lists_its_articles_in_order_with_absolute_links_and_images(bulletin, ana):
    message = CampaignRenderer(bulletin).render(subscriber=ana)
    body = html_of(message)
    assert message.subject == "This week in the Andes"
    assert message.to == ["ana@example.org"]
    assert body.index("Protest camp 1 holds") < body.index("Protest camp 2 holds")
    assert f'href="{SITE}/articles/protest-camp-1/"' in body
    assert f'src="{SITE}/media/camp-1.jpg"' in body
    assert 'alt="Villagers on the road, picture 1"' in body
    assert 'width="536"' in body
    assert "Radio Comunitaria" in body
    assert "<strong>third</strong>" in body
    assert "Five stories" in body  # the preheader, hidden at the top
    assert "Dear Ana Quispe," in body


def test_the_text_part_is_written_from_the_markdown_not_scraped_from_html(bulletin, ana):
    text = CampaignRenderer(bulletin).render(subscriber=ana).body
    assert "Dear Ana Quispe," in text
    assert "news from the valley (https://example.net/valley)." in text
    assert "<" not in text.replace("<https", "")
    assert "1. Protest camp 1 holds out against the mine\n-----" in text
    assert "a third week" in text and "**" not in text
    assert f"Read more: {SITE}/articles/protest-camp-1/" in text
    assert text.index("Protest camp 1") < text.index("Protest camp 2")
    assert all(len(line) <= 72 or "http" in line for line in text.splitlines())


def test_the_name_falls_back_to_the_default_word_when_the_subscriber_has_none(bulletin, mining_list):
    nameless = Subscriber.objects.create(email="x@example.org", status="confirmed")
    message = CampaignRenderer(bulletin).render(subscriber=nameless)
    assert "Dear friend," in html_of(message)
    assert "Dear friend," in message.body


def test_a_merge_field_without_a_default_uses_the_word_for_friend_in_the_readers_language(mining_list):
    campaign = make_campaign([mining_list], kind=Campaign.Kind.ALERT, language="es", intro_markdown="Hola {{ name }}:")
    nameless = Subscriber.objects.create(email="x@example.org", language="es")
    message = CampaignRenderer(campaign).render(subscriber=nameless)
    assert "Hola amigo/a:" in html_of(message)
    assert "Hola amigo/a:" in message.body


def test_a_hostile_name_is_escaped_in_html_and_kept_out_of_headers(bulletin, mining_list):
    bulletin.subject = "News for {{ first_name }}"
    bulletin.save()
    villain = Subscriber.objects.create(email="v@example.org", name="<script>alert(1)</script>\nBcc: x@evil.example")
    message = CampaignRenderer(bulletin).render(subscriber=villain)
    body = html_of(message)
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bcc: x@evil.example" in body
    assert "\n" not in message.subject
    message.message()  # Django refuses header injection by raising: this must not raise


def test_staff_text_is_never_evaluated_as_a_template(mining_list, ana):
    campaign = make_campaign(
        [mining_list],
        kind=Campaign.Kind.APPEAL,
        intro_markdown="Hi {{ name }}. {{ subscriber.email }} {% debug %} {{ settings.SECRET_KEY }} {{ name|upper }}",
    )
    message = CampaignRenderer(campaign).render(subscriber=ana)
    body = html_of(message)
    assert "Hi Ana Quispe." in body
    assert "ana@example.org" not in message.body
    assert "{{" not in body and "SECRET" not in body
    assert "{% debug %}" in body  # shown as typed, not run
    assert merge_fields.problems(campaign.intro_markdown) == [
        "{{ subscriber.email }}",
        "{{ settings.SECRET_KEY }}",
        "{{ name|upper }}",
        "{% debug %}",
    ]


def test_an_appeal_button_carries_the_attribution_code_and_keeps_the_donate_pages_query(mining_list, ana):
    campaign = make_campaign(
        [mining_list],
        kind=Campaign.Kind.APPEAL,
        subject="Keep the radio on air",
        body_markdown="The community radio needs you.",
        call_to_action_text="Give now",
        call_to_action_url="https://donate.example.org/give?fund=radio&amount=25",
    )
    message = CampaignRenderer(campaign).render(subscriber=ana)
    [url] = re.findall(r'href="(https://donate\.example\.org[^"]+)"', html_of(message))
    query = parse_qs(urlsplit(url.replace("&amp;", "&")).query)
    assert query == {
        "fund": ["radio"],
        "amount": ["25"],
        "utm_source": ["tocsin"],
        "utm_medium": ["email"],
        "utm_campaign": [campaign.attribution_code],
        "tocsin_ref": [campaign.attribution_code],
    }
    assert "Give now" in html_of(message)
    assert "Give now:" in message.body and "tocsin_ref=" in message.body
    assert message.tags == [f"campaign-{campaign.pk}"]
    assert message.metadata["kind"] == "appeal"


def test_an_alert_has_a_big_call_to_action(mining_list, ana):
    campaign = make_campaign(
        [mining_list],
        kind=Campaign.Kind.ALERT,
        subject="State of emergency declared",
        intro_markdown="Troops have entered the province.",
        call_to_action_text="Write to the minister",
        call_to_action_url="https://act.example.org/minister",
    )
    message = CampaignRenderer(campaign).render(subscriber=ana)
    body = html_of(message)
    assert re.search(r'<a href="https://act.example.org/minister"[^>]*>Write to the minister</a>', body)
    assert "Urgent alert" in body
    assert "Write to the minister:\n   https://act.example.org/minister" in message.body


def test_css_is_inlined_and_the_phone_layout_media_query_is_kept(bulletin, ana):
    body = html_of(CampaignRenderer(bulletin).render(subscriber=ana))
    assert re.search(r'<td class="item" style="[^"]*padding: 22px 32px', body)
    assert "@media only screen and (max-width: 620px)" in body
    assert ".headline { margin" not in body  # plain rules went inline, not left in <style>


def test_each_person_gets_the_campaign_in_their_language_or_the_main_one(bulletin, mining_list):
    CampaignTranslation.objects.create(
        campaign=bulletin, language="es", subject="Esta semana en los Andes", intro_markdown="Hola {{ name }}."
    )
    renderer = CampaignRenderer(bulletin)
    maria = Subscriber.objects.create(email="m@example.org", name="María", language="es")
    claire = Subscriber.objects.create(email="c@example.org", name="Claire", language="fr")
    spanish = renderer.render(subscriber=maria)
    assert spanish.subject == "Esta semana en los Andes"
    assert "Hola María." in html_of(spanish)
    assert 'lang="es"' in html_of(spanish)
    assert f"{SITE}/bulletins/{bulletin.attribution_code}/?lang=es" in spanish.body
    french = renderer.render(subscriber=claire)  # no French version: the main one
    assert french.subject == "This week in the Andes"
    assert "Dear Claire," in french.body
    assert 'lang="en"' in html_of(french)


def test_a_bulletin_uses_the_articles_translation_when_there_is_one(bulletin, mining_list):
    CampaignTranslation.objects.create(campaign=bulletin, language="es", subject="Esta semana")
    original = bulletin.articles.get(slug="protest-camp-1")
    make_article(99, title="El campamento resiste", slug="campamento", language="es", translation_of=original)
    maria = Subscriber.objects.create(email="m@example.org", language="es")
    body = html_of(CampaignRenderer(bulletin).render(subscriber=maria))
    assert "El campamento resiste" in body
    assert f"{SITE}/articles/campamento/" in body
    assert "Protest camp 2 holds" in body  # not translated: the original stays


def test_a_twelve_article_bulletin_stays_under_gmails_clipping_limit(mining_list, ana):
    campaign = make_campaign([mining_list], intro_markdown="Twelve stories this week. " * 10)
    summary = (
        "Police moved against the road blockade at dawn, and the regional ombudsman counted the injured. "
        "Leaders of the [peasant patrols](https://example.net/rondas) say the company brought in private guards. "
    ) * 3
    for n in range(12):
        article = make_article(n, summary=summary, body_markdown="Body paragraph. " * 400)
        CampaignArticle.objects.create(campaign=campaign, article=article, position=n)
    html_part = html_of(CampaignRenderer(campaign).render(subscriber=ana))
    assert html_part.count('class="headline"') == 12
    assert len(html_part.encode()) < GMAIL_CLIP_BYTES
    assert message_size_warning(html_part) is None


def test_the_size_warning_speaks_up_over_102_kb():
    assert "102 KB" in message_size_warning("x" * 110_000)
    assert "close to" in message_size_warning("x" * 100_000)
    assert message_size_warning("x" * 50_000) is None


def test_the_message_is_valid_mime_with_both_parts(bulletin, ana):
    message = CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=3)
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Subject"] == "This week in the Andes"


def test_it_can_be_sent_through_django_mail(bulletin, ana):
    CampaignRenderer(bulletin).render(subscriber=ana).send()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.org"]


def test_preview_renders_for_a_sample_reader(bulletin):
    subject, html_part, text = render_preview(bulletin)
    assert subject == "This week in the Andes"
    assert "Dear Alex Sample," in html_part
    assert "Casilla 77, Cusco, Peru" in text
    nameless = Subscriber(pk=0, email="s@example.org", language="en")
    assert "Dear friend," in render_preview(bulletin, subscriber=nameless)[2]


def test_preview_in_a_translation(bulletin):
    CampaignTranslation.objects.create(campaign=bulletin, language="fr", subject="Cette semaine dans les Andes")
    subject, _html, _text = render_preview(bulletin, language="fr")
    assert subject == "Cette semaine dans les Andes"


def test_an_article_written_in_the_rich_text_editor_still_has_a_text_version(mining_list, ana):
    campaign = make_campaign([mining_list])
    article = make_article(
        1,
        summary="",
        body_markdown="",
        body_html='<p>Read the <a href="https://example.net/report">full report</a>.</p>',
    )
    CampaignArticle.objects.create(campaign=campaign, article=article, position=0)
    message = CampaignRenderer(campaign).render(subscriber=ana)
    assert "Read the full report (https://example.net/report)." in message.body
    assert "full report</a>" in html_of(message)


def test_the_text_converter_underlines_headings_keeps_links_and_reflows():
    from campaigns.content.plaintext import markdown_to_text

    source = (
        "# Emergency in Puno\n\nSee [the statement][1] and <https://example.net/live>.\n\n"
        "## What you can do\n\n* Call the *embassy*\n* Share the [petition](/act/)\n\n"
        "> Quoted words\n\n[1]: https://example.net/statement\n"
    )
    text = markdown_to_text(source, absolute=lambda url: "https://site.example" + url if url[0] == "/" else url)
    assert text.startswith("Emergency in Puno\n=================\n")
    assert "See the statement (https://example.net/statement) and https://example.net/live." in " ".join(text.split())
    assert "What you can do\n---------------" in text
    assert "* Call the embassy\n* Share the petition (https://site.example/act/)" in text
    assert "> Quoted words" in text
    long = markdown_to_text("word " * 40 + "https://example.net/" + "a" * 90)
    assert max(len(line) for line in long.splitlines() if "http" not in line) <= 72
    assert "https://example.net/" + "a" * 90 in long  # a URL is never broken
