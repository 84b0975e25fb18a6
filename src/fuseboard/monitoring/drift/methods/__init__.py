"""One module per drift method: its spec (``METHOD``), its statistic and its scorer (``score``)."""
