"""Admin for articles (articles.py) and campaigns (campaigns.py)."""
