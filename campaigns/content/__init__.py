"""What campaigns are made of: articles, Markdown, plain text, the feed, the demo content."""
