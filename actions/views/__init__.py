"""The public action page ``/act/<slug>/``, its district step, thank-you page, counter and embed.

``signing``: the page and the embedded form's posts; ``showing``: what an action's pages show.

The views translate HTTP into ``actions.services.sign`` and its exceptions
into pages: a bad field is a form error (400), a postal code that matches
no district or several is a page asking the supporter to choose (nothing is
stored until they do), a repeat is a kind "you already signed" (200).
The same abuse rules as sign-up apply: per-IP rate limits, the honeypot,
the optional CAPTCHA, and on the embedded form the Origin allow-list.
"""
