"""The tables of an HTML page (the browser tests read them from Chromium's DOM dump)."""
from html.parser import HTMLParser


class Tables(HTMLParser):
    """Rows of every <table>: each a list of cells (their text, and the link and data-v of
    the cell), and the rows that have an id by their id."""

    def __init__(self):
        super().__init__()
        self.tables, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "rows": [], "ids": {}})
        elif tag == "tr" and self.tables:
            row = []
            self.tables[-1]["rows"].append(row)
            if "id" in a:
                self.tables[-1]["ids"][a["id"]] = row
        elif tag in ("td", "th") and self.tables and self.tables[-1]["rows"]:
            self.cell = {"text": "", "href": None, "v": a.get("data-v"), "th": tag == "th"}
            self.tables[-1]["rows"][-1].append(self.cell)
        elif tag == "a" and self.cell is not None:
            self.cell["href"] = a.get("href")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data


def tables(path):
    """The tables of the page at path, in the order they appear."""
    p = Tables()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return p.tables


def data_rows(table):
    """The rows of a table that do not start with a header cell."""
    return [r for r in table["rows"] if r and not r[0]["th"]]


def rows_by_id(page_tables):
    """The rows that have an id, over all the tables."""
    return {k: row for t in page_tables for k, row in t["ids"].items()}
