"""Masker: what gets masked, what is kept, caching."""
from logintel.masking import MAX_KEY_LEN, TemplateMasker, template_key


def test_masks_common_variables():
    assert template_key("Connection to 10.0.0.5:5432 failed after 3200ms") == "Connection to <*> failed after <*>"
    assert template_key("request 123e4567-e89b-12d3-a456-426614174000 took 12.5 ms") == "request <*> took <*>"
    assert template_key("GET https://api.example.com/v1/users?id=5 done") == "GET <*> done"
    assert template_key("mail to john.doe@example.com bounced") == "mail to <*> bounced"
    assert template_key("Opened /var/lib/data/file_0001.db") == "Opened <*>"
    assert template_key("pointer 0xdeadbeef checksum a3f5b2c9d1e0") == "pointer <*> checksum <*>"
    assert template_key("peer 2001:db8::ff00:42:8329 joined") == "peer <*> joined"
    assert template_key("user 'bob' logged in") == "user <*> logged in"
    assert template_key('key="abc-1" value=42') == "key=<*> value=<*>"
    assert template_key("Took 3.21 seconds, wrote 12 MB") == "Took <*>, wrote <*>"


def test_keeps_identifier_prefixes_and_words():
    assert template_key("Deleting block blk_-695229586 file x") == "Deleting block blk_<*> file x"
    assert template_key("worker-3 restarted") == "worker-<*> restarted"
    assert template_key("Out of memory: killed process 1234 (java)") == "Out of memory: killed process <*> (java)"


def test_same_call_site_same_key():
    a = template_key("Received block blk_1 of size 67108864 from /10.250.19.102")
    b = template_key("Received block blk_-99 of size 3 from /10.0.0.1")
    assert a == b


def test_http_status_class_is_kept():
    ok = template_key("GET /api/v1/orders/12 200 in 24ms from 10.1.2.3")
    bad = template_key("GET /api/v1/orders/77 503 in 900ms from 10.1.2.4")
    assert ok == "GET <*> <2xx> in <*> from <*>"
    assert bad == "GET <*> <5xx> in <*> from <*>"
    assert template_key("request failed status=404") == "request failed status=<4xx>"
    assert template_key("took 250 ms") == "took <*>"


def test_lists_and_whitespace_collapse():
    assert template_key("ask 1.2.3.4:50010 to delete blk_1 blk_2 blk_3") == "ask <*> to delete blk_<*>"
    assert template_key("  lots   of\tspace ") == "lots of space"
    assert template_key("") == ""


def test_length_cap():
    assert len(template_key("word " * 200)) <= MAX_KEY_LEN


def test_masker_cache_and_bounds():
    m = TemplateMasker(maxsize=3)
    msgs = ["a 1", "a 2", "a 1", "b 3", "c 4", "d 5", None]
    keys = m.keys(msgs)
    assert keys == ["a <*>", "a <*>", "a <*>", "b <*>", "c <*>", "d <*>", ""]
    assert len(m) <= 3
    assert m.hits >= 1
    assert m.key("a 9") == "a <*>"
