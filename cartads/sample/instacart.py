"""The Instacart sample shipped with CartAds: a real grocery catalog and real baskets.

The data set has no brands, prices or weights. They are derived here, deterministically, so every
run and every component sees the same values: a brand from the product name's first word(s), and a
price and weight from the product's department scaled by a hash of its id. Anything shown to a
shopper from them is sample data, not a real shelf price.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# Leading words that describe rather than name a maker: the brand takes one more word.
_GENERIC_LEADING_WORDS = frozenset(
    {"organic", "original", "100%", "large", "fresh", "natural", "pure", "classic", "light", "extra", "bag", "total"}
)

# (typical shelf price in micros, typical unit weight in grams) by Instacart department name.
_DEPARTMENT_PRICE_WEIGHT: dict[str, tuple[int, int]] = {
    "frozen": (4_490_000, 450),
    "other": (3_990_000, 300),
    "bakery": (3_490_000, 500),
    "produce": (1_990_000, 400),
    "alcohol": (12_990_000, 1_200),
    "international": (3_290_000, 350),
    "beverages": (2_990_000, 1_000),
    "pets": (8_990_000, 1_500),
    "dry goods pasta": (1_790_000, 450),
    "bulk": (5_490_000, 700),
    "personal care": (6_490_000, 250),
    "meat seafood": (8_490_000, 600),
    "pantry": (3_490_000, 400),
    "breakfast": (4_290_000, 450),
    "canned goods": (1_590_000, 400),
    "dairy eggs": (3_190_000, 700),
    "household": (5_990_000, 900),
    "babies": (7_990_000, 600),
    "snacks": (3_490_000, 250),
    "deli": (5_490_000, 300),
    "missing": (2_990_000, 400),
}


@dataclass(frozen=True)
class Aisle:
    aisle_id: str
    name: str

    @property
    def zone_id(self) -> str:
        """Aisles are the store's zones."""
        return f"zone-{self.aisle_id}"


@dataclass(frozen=True)
class Department:
    department_id: str
    name: str


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    aisle_id: str
    department_id: str
    brand: str
    price_micros: int
    weight_g: int


@dataclass(frozen=True)
class Catalog:
    aisles: tuple[Aisle, ...]
    departments: tuple[Department, ...]
    products: tuple[Product, ...]


@dataclass(frozen=True)
class Order:
    order_id: str
    product_ids: tuple[str, ...]


def default_data_dir() -> Path:
    """The copy of the sample inside the installed package."""
    return Path(str(resources.files("cartads.sample") / "data" / "instacart"))


def derive_brand(product_name: str) -> str:
    """A stand-in brand: the first word of the name, or the first two when the first is generic."""
    words = product_name.split()
    if not words:
        return ""
    if words[0].lower() in _GENERIC_LEADING_WORDS and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def _spread(product_id: str, salt: str) -> float:
    """A stable factor in [0.6, 1.6) from the product id, so sibling products differ."""
    digest = hashlib.sha256(f"{salt}:{product_id}".encode()).digest()
    return 0.6 + int.from_bytes(digest[:4], "big") / 2**32


def derive_price_micros(product_id: str, department_name: str) -> int:
    """A plausible shelf price, rounded to whole cents (10,000 micros)."""
    base, _ = _DEPARTMENT_PRICE_WEIGHT.get(department_name, _DEPARTMENT_PRICE_WEIGHT["missing"])
    return max(10_000, round(base * _spread(product_id, "price") / 10_000) * 10_000)


def derive_weight_g(product_id: str, department_name: str) -> int:
    """A plausible unit weight in grams."""
    _, base = _DEPARTMENT_PRICE_WEIGHT.get(department_name, _DEPARTMENT_PRICE_WEIGHT["missing"])
    return max(20, round(base * _spread(product_id, "weight")))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Aisles, departments and products, with derived brand, price and weight."""
    root = data_dir or default_data_dir()
    aisles = tuple(Aisle(r["aisle_id"], r["aisle"]) for r in _rows(root / "aisles.csv"))
    departments = tuple(Department(r["department_id"], r["department"]) for r in _rows(root / "departments.csv"))
    department_names = {d.department_id: d.name for d in departments}
    products = []
    for row in _rows(root / "products.csv"):
        department_name = department_names.get(row["department_id"], "missing")
        products.append(
            Product(
                product_id=row["product_id"],
                name=row["product_name"],
                aisle_id=row["aisle_id"],
                department_id=row["department_id"],
                brand=derive_brand(row["product_name"]),
                price_micros=derive_price_micros(row["product_id"], department_name),
                weight_g=derive_weight_g(row["product_id"], department_name),
            )
        )
    return Catalog(aisles=aisles, departments=departments, products=tuple(products))


def load_orders(data_dir: Path | None = None) -> list[Order]:
    """Every order that has basket lines, its products in add-to-cart order, sorted by order id."""
    root = data_dir or default_data_dir()
    lines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in _rows(root / "order_products__prior.csv"):
        lines[row["order_id"]].append((int(row["add_to_cart_order"]), row["product_id"]))
    return [
        Order(order_id, tuple(product_id for _, product_id in sorted(items)))
        for order_id, items in sorted(lines.items(), key=lambda kv: int(kv[0]))
    ]
