"""The Instacart sample store shipped with CartAds: a real catalog and real baskets, and their loader."""
