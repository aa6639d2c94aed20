"""Vectorised generators for the variable parts of log messages.

Every generator has the signature ``fn(ctx, arg) -> list`` and returns ``ctx.n``
Python values (str or int) ready for ``%s`` formatting.  Value pools are built
once at import time from a fixed seed (they are part of the "world", not of a
particular run); which pool entries are drawn depends on the run's RNG.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .catalog import HOSTS, PORTS, SERVICES


@dataclass
class SlotContext:
    rng: np.random.Generator
    n: int
    t_abs_ms: np.ndarray  # absolute epoch milliseconds of the lines
    target: np.ndarray  # resolved target-service index per line (for {svc}/{taddr})
    scale: np.ndarray  # duration multiplier per line (latency spikes)


class Pool:
    """A fixed list of strings drawn with an optional Zipf-like skew."""

    def __init__(self, values, skew: float = 0.0):
        self.values = np.array(list(values), dtype=object)
        if skew > 0:
            w = 1.0 / np.arange(1, len(self.values) + 1) ** skew
            self.cdf = np.cumsum(w / w.sum())
            self.cdf[-1] = 1.0
        else:
            self.cdf = None

    def draw(self, rng: np.random.Generator, n: int) -> list:
        if self.cdf is None:
            idx = rng.integers(0, len(self.values), n)
        else:
            idx = np.searchsorted(self.cdf, rng.random(n), side="right")
        return self.values[idx].tolist()


def _weighted(pairs) -> Pool:
    """Pool from (value, integer weight) pairs (repeats values)."""
    vals: list[str] = []
    for v, w in pairs:
        vals.extend([v] * w)
    return Pool(vals)


_w = np.random.default_rng(0x10C1)  # world RNG: fixed, independent of the run seed

_FIRST = ("alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert "
          "sybil trent victor walter yusuf zoe liam emma noah ava mia lucas sofia mateo chloe "
          "hiro yuki priya arjun fatima omar lena jonas marta pavel ines diego nora felix "
          "svetlana kwame amara chen wei ana luis").split()
_LAST = ("smith jones garcia miller davis lopez wilson anderson taylor thomas moore martin lee "
         "walker hall young king wright scott green baker adams nelson hill campbell mitchell "
         "roberts carter phillips evans turner torres parker collins edwards stewart morris "
         "nguyen kim patel mueller rossi novak").split()


def _make_users(n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        m = 2 * n
        f = _w.integers(len(_FIRST), size=m).tolist()
        la = _w.integers(len(_LAST), size=m).tolist()
        style = _w.integers(5, size=m).tolist()
        num = _w.integers(1, 99, size=m).tolist()
        for fi, li, st, nu in zip(f, la, style, num):
            fn, ln = _FIRST[fi], _LAST[li]
            u = (fn, f"{fn}.{ln}", f"{fn[0]}{ln}", f"{fn}{nu}", f"{fn}_{ln[:3]}")[st]
            if u not in seen:
                seen.add(u)
                out.append(u)
                if len(out) == n:
                    break
    return out


_USERS_LIST = _make_users(3000)
USERS = Pool(_USERS_LIST, skew=0.7)
_DOMAINS = ("example.com", "gmail.com", "outlook.com", "acme-corp.io", "fastmail.fm", "proton.me")
EMAILS = Pool([f"{u}@{_DOMAINS[d]}" for u, d in zip(_USERS_LIST, _w.integers(len(_DOMAINS), size=len(_USERS_LIST)).tolist())],
              skew=0.5)

_PUBLIC_A = (23, 31, 45, 62, 77, 81, 89, 91, 104, 109, 146, 151, 176, 185, 188, 193, 203, 212, 217)


def _make_ips(n: int, internal_share: float) -> list[str]:
    internal = (_w.random(n) < internal_share).tolist()
    a = np.array(_PUBLIC_A)[_w.integers(len(_PUBLIC_A), size=n)].tolist()
    b = _w.integers(0, 8, n).tolist()
    c = _w.integers(0, 256, (n, 2)).tolist()
    d = _w.integers(1, 255, n).tolist()
    return [f"10.{bi}.{ci[0]}.{di}" if inn else f"{ai}.{ci[0]}.{ci[1]}.{di}"
            for inn, ai, bi, ci, di in zip(internal, a, b, c, d)]


CLIENT_IPS = Pool(_make_ips(5000, 0.35), skew=0.8)
INTERNAL_IPS = Pool([f"10.{a}.{b}.{c}" for a, b, c in zip(_w.integers(0, 4, 300).tolist(),
                                                           _w.integers(0, 256, 300).tolist(),
                                                           _w.integers(1, 255, 300).tolist())])

_TERMS = ("running shoes", "usb-c cable", "coffee grinder", "wireless headphones", "standing desk",
          "winter jacket", "4k monitor", "yoga mat", "mechanical keyboard", "air fryer",
          "espresso machine", "kids bike", "gaming chair", "phone case", "led strip",
          "backpack", "hiking boots", "smart watch", "water bottle", "desk lamp",
          "baby stroller", "protein powder", "noise cancelling", "vinyl records", "sunglasses")
TERMS = Pool(_TERMS, skew=0.9)


def _make_requests(n: int) -> list[str]:
    pats = (
        ("GET", "/api/v1/orders/{id}", 20), ("GET", "/api/v1/orders?page={p}", 8),
        ("POST", "/api/v1/orders", 8), ("PATCH", "/api/v1/orders/{id}", 2),
        ("GET", "/api/v1/users/{id}/profile", 14), ("PUT", "/api/v1/users/{id}/profile", 2),
        ("POST", "/api/v1/auth/login", 8), ("POST", "/api/v1/auth/refresh", 6),
        ("GET", "/api/v1/products/{id}", 25), ("GET", "/api/v1/search?q={q}", 12),
        ("POST", "/api/v1/payments/charge", 4), ("GET", "/api/v1/payments/ch_{hex}", 2),
        ("POST", "/api/v1/cart/items", 6), ("DELETE", "/api/v1/cart/items/{id}", 2),
        ("GET", "/api/v2/recommendations?user={id}", 6), ("POST", "/api/v1/uploads", 1),
        ("GET", "/health", 4),
    )
    w = np.array([p[2] for p in pats], float)
    choice = _w.choice(len(pats), size=n, p=w / w.sum()).tolist()
    ids = _w.integers(1000, 99999, n).tolist()
    pages = _w.integers(1, 40, n).tolist()
    terms = _w.integers(len(_TERMS), size=n).tolist()
    hexes = _w.bytes(7 * n).hex()
    out = []
    for i, c in enumerate(choice):
        m, path, _ = pats[c]
        if "{" in path:
            path = (path.replace("{id}", str(ids[i])).replace("{p}", str(pages[i]))
                    .replace("{q}", _TERMS[terms[i]].replace(" ", "+"))
                    .replace("{hex}", hexes[14 * i:14 * i + 14]))
        out.append(f"{m} {path}")
    return out


REQUESTS = Pool(_make_requests(6000), skew=0.6)
STATUS = {
    "2xx": _weighted([(200, 80), (201, 10), (204, 6), (304, 4)]),
    "4xx": _weighted([(400, 20), (401, 25), (403, 10), (404, 30), (409, 5), (422, 6), (429, 4)]),
    "5xx": _weighted([(500, 40), (502, 25), (503, 20), (504, 15)]),
}
TABLES = Pool(("orders", "order_items", "users", "sessions", "payments", "products", "inventory",
               "invoices", "refunds", "shipments", "carts", "audit_log"), skew=0.8)
QUEUES = Pool(("orders.created", "orders.cancelled", "payments.settled", "payments.refunded",
               "email.outbound", "search.reindex", "inventory.updates", "notifications.push",
               "audit.events"), skew=0.7)
CGROUPS = Pool(("order-workers", "billing-consumers", "email-senders", "search-indexer", "audit-sink"))
JOBS = Pool(("nightly_backup", "reindex_products", "expire_sessions", "send_digest_emails",
             "reconcile_payments", "rotate_logs", "compact_storage", "refresh_exchange_rates",
             "cleanup_tmp_uploads", "generate_invoices", "sync_inventory", "purge_soft_deleted"), skew=0.5)
INDICES = Pool(("products_v3", "orders_v2", "customers_v1", "articles_v5"), skew=0.8)
BUCKETS = Pool(("user-uploads", "invoices", "product-images", "backups", "exports"), skew=0.6)
_EXT = ("jpg", "png", "pdf", "csv", "json", "tar.gz", "webp")
OBJKEYS = Pool([f"{y}/{m:02d}/{h}.{_EXT[e]}" for y, m, h, e in zip(
    _w.integers(2021, 2025, 4000).tolist(), _w.integers(1, 13, 4000).tolist(),
    np.array([f"{x:08x}" for x in _w.integers(0, 1 << 32, 4000).tolist()]).tolist(),
    _w.integers(len(_EXT), size=4000).tolist())], skew=0.4)


def _make_files(n: int) -> list[str]:
    kind = _w.integers(4, size=n).tolist()
    hx = _w.bytes(8 * n).hex()
    yr = _w.integers(2022, 2025, n).tolist()
    mo = _w.integers(1, 13, n).tolist()
    blk = _w.integers(10**8, 10**9, n).tolist()
    out = []
    for i, k in enumerate(kind):
        h = hx[16 * i:16 * i + 16]
        out.append((f"/data/objects/{h[:2]}/{h[2:4]}/{h[4:]}",
                    f"/var/lib/storage/chunks/{h[:2]}/{h[2:14]}.chk",
                    f"/data/uploads/{yr[i]}/{mo[i]:02d}/{h[:10]}.bin",
                    f"/data/volumes/vol{mo[i]:02d}/blk_{blk[i]}")[k])
    return out


FILES = Pool(_make_files(3000), skew=0.3)


def _make_ckeys(n: int) -> list[str]:
    kind = _w.integers(7, size=n).tolist()
    ids = _w.integers(1000, 99999, n).tolist()
    hx = _w.bytes(8 * n).hex()
    ipi = _w.integers(200, size=n).tolist()
    ver = _w.integers(1, 9, n).tolist()
    out = []
    for i, k in enumerate(kind):
        if k == 0:
            out.append(f"user:{ids[i]}:profile")
        elif k == 1:
            out.append(f"session:{hx[16 * i:16 * i + 16]}")
        elif k == 2:
            out.append(f"product:{ids[i]}:price")
        elif k == 3:
            out.append(f"cart:{ids[i]}")
        elif k == 4:
            out.append(f"rate:{CLIENT_IPS.values[ipi[i]]}")
        elif k == 5:
            out.append(f"search:{hx[16 * i:16 * i + 8]}")
        else:
            out.append(f"feature_flags:v{ver[i]}")
    return out


CKEYS = Pool(_make_ckeys(5000), skew=0.9)
FIELDS = Pool(("shipping_address.zip", "quantity", "email", "currency", "items[0].sku",
               "coupon_code", "phone", "shipping_method"))
QVALS = Pool(("-3", "", "abc", "99999999", "EURO", "null", "2024-13-45", "foo@", "NaN", "0", " ", "XX-000"))
EXCEPTIONS = Pool((
    "KeyError: 'shipping_address'",
    "ValueError: invalid literal for int() with base 10: 'abc'",
    "TypeError: 'NoneType' object is not subscriptable",
    'IntegrityError: duplicate key value violates unique constraint "orders_pkey"',
    "ZeroDivisionError: division by zero",
    "AttributeError: 'NoneType' object has no attribute 'currency'",
), skew=0.8)
CURRENCIES = _weighted([("USD", 60), ("EUR", 25), ("GBP", 10), ("JPY", 3), ("CAD", 2)])
DECLINES = _weighted([("insufficient_funds", 45), ("card_declined", 25), ("expired_card", 12),
                      ("incorrect_cvc", 10), ("do_not_honor", 8)])
EVENTS = Pool(("charge.succeeded", "charge.refunded", "charge.failed", "payout.paid",
               "customer.updated", "charge.dispute.created"), skew=1.0)
URLS = Pool(("https://api.stripe.com/v1/charges", "https://api.paypal.com/v2/checkout/orders",
             "https://api.adyen.com/v71/payments", "https://hooks.partner-logistics.com/notify"), skew=0.8)
OTRANS = _weighted([("pending to paid", 40), ("paid to shipped", 30), ("shipped to delivered", 25),
                    ("pending to cancelled", 6), ("paid to refunded", 3)])
MFA = _weighted([("totp", 6), ("webauthn", 3), ("sms", 1)])
EXIT_CODES = _weighted([(1, 60), (2, 10), (137, 15), (143, 5), (127, 3), (124, 7)])
VERSIONS = Pool(("v2.14.3", "v2.14.4", "v2.15.0", "v2.15.1", "v3.0.0-rc2"), skew=0.5)
DOMAINS = Pool(("api.example.com", "checkout.example.com", "partner-gw.example.net",
                "static.example-cdn.com", "admin.example.com"))
REPLICAS = Pool(HOSTS["database"][1:])
STORES = Pool(HOSTS["storage"])
SEARCHES = Pool(HOSTS["search"])
_SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")

_HOSTS_BY_IDX = [np.array(HOSTS[s], dtype=object) for s in SERVICES]
_TADDR_BY_IDX = [np.array([f"{h}:{PORTS[s]}" for h in HOSTS[s]], dtype=object) for s in SERVICES]
_SERVICE_NAMES = np.array(SERVICES, dtype=object)


def _human_size(b: float) -> str:
    u = 0
    while b >= 1024 and u < 4:
        b /= 1024
        u += 1
    return f"{b:.1f} {_SIZE_UNITS[u]}"


# --------------------------------------------------------------------------- slots
def _int(ctx: SlotContext, arg):
    lo, hi = (int(x) for x in arg.split(":"))
    return ctx.rng.integers(lo, hi + 1, ctx.n).tolist()


def _ms(ctx: SlotContext, arg):
    med = float(arg)
    v = med * np.exp(ctx.rng.normal(0.0, 0.6, ctx.n)) * ctx.scale
    return np.maximum(v, 1).astype(np.int64).tolist()


def _hex(ctx: SlotContext, arg):
    k = int(arg)
    h = ctx.rng.bytes((k + 1) // 2 * ctx.n).hex()
    step = (k + 1) // 2 * 2
    return [h[i:i + k] for i in range(0, step * ctx.n, step)]


def _hexu(ctx: SlotContext, arg):
    return [x.upper() for x in _hex(ctx, arg)]


def _uuid(ctx: SlotContext, arg):
    h = ctx.rng.bytes(16 * ctx.n).hex()
    return [f"{h[i:i+8]}-{h[i+8:i+12]}-4{h[i+13:i+16]}-a{h[i+17:i+20]}-{h[i+20:i+32]}"
            for i in range(0, 32 * ctx.n, 32)]


def _pool(pool: Pool) -> Callable:
    return lambda ctx, arg: pool.draw(ctx.rng, ctx.n)


def _svc(ctx: SlotContext, arg):
    return _SERVICE_NAMES[ctx.target].tolist()


def _taddr(ctx: SlotContext, arg):
    out = np.empty(ctx.n, dtype=object)
    r = ctx.rng.integers(0, 1 << 30, ctx.n)
    for s in np.unique(ctx.target):
        m = ctx.target == s
        arr = _TADDR_BY_IDX[s]
        out[m] = arr[r[m] % len(arr)]
    return out.tolist()


def _status(ctx: SlotContext, arg):
    return STATUS[arg].draw(ctx.rng, ctx.n)


def _amount(ctx: SlotContext, arg):
    v = np.round(np.exp(ctx.rng.normal(3.6, 0.9, ctx.n)), 2)
    return ["%.2f" % x for x in v.tolist()]


def _oid(ctx: SlotContext, arg):
    return ctx.rng.integers(100000, 9999999, ctx.n).tolist()


def _pid(ctx: SlotContext, arg):
    return ctx.rng.integers(300, 65535, ctx.n).tolist()


def _size(ctx: SlotContext, arg):
    v = np.exp(ctx.rng.normal(13.0, 3.0, ctx.n))
    return [_human_size(x) for x in v.tolist()]


def _date(ctx: SlotContext, arg):
    back = ctx.rng.integers(0, 3 * 86_400_000, ctx.n)
    d = (ctx.t_abs_ms - back).astype("datetime64[ms]").astype("datetime64[D]")
    return d.astype(str).tolist()


SLOTS: dict[str, Callable] = {
    "int": _int, "ms": _ms, "hex": _hex, "hexu": _hexu, "uuid": _uuid,
    "svc": _svc, "taddr": _taddr, "status": _status, "amount": _amount, "oid": _oid,
    "pid": _pid, "size": _size, "date": _date,
    "req": _pool(REQUESTS), "cip": _pool(CLIENT_IPS), "ip": _pool(INTERNAL_IPS),
    "user": _pool(USERS), "email": _pool(EMAILS), "term": _pool(TERMS),
    "table": _pool(TABLES), "queue": _pool(QUEUES), "cgroup": _pool(CGROUPS),
    "job": _pool(JOBS), "index": _pool(INDICES), "bucket": _pool(BUCKETS),
    "objkey": _pool(OBJKEYS), "file": _pool(FILES), "ckey": _pool(CKEYS),
    "field": _pool(FIELDS), "qval": _pool(QVALS), "exc": _pool(EXCEPTIONS),
    "currency": _pool(CURRENCIES), "decline": _pool(DECLINES), "evt": _pool(EVENTS),
    "url": _pool(URLS), "otrans": _pool(OTRANS), "mfa": _pool(MFA), "exit": _pool(EXIT_CODES),
    "ver": _pool(VERSIONS), "domain": _pool(DOMAINS), "replica": _pool(REPLICAS),
    "store": _pool(STORES), "search": _pool(SEARCHES),
}
# {job2} repeats the value drawn for the preceding {job} slot (handled in the generator).
BACKREFS: dict[str, str] = {"job2": "job"}


def hosts_for(service_idx: int) -> np.ndarray:
    return _HOSTS_BY_IDX[service_idx]
