"""Labelled evaluation set for a PII / sensitive-data detector, generated deterministically (stdlib only).

    python -m bench.pii_corpus [--out bench/data/pii_sentences.jsonl] [--seed 7]

JSON Lines (UTF-8, non-ASCII kept), one sentence a line: {"id": 0, "split": "dev"|"test", "text": "...",
"spans": [{"start": 12, "end": 31, "type": "EMAIL_ADDRESS"}]}. Spans are sorted, non-overlapping, and
text[start:end] (Python str indices = code points) is exactly the value: no quotes, brackets or punctuation, no titles
("Dr.", "Ms."), cues ("password=", "IBAN", "Bearer"), CIDR suffixes ("/24") or ports (":8080"). No-PII sentences: [].

Types: EMAIL_ADDRESS (subdomains, country TLDs); PHONE_NUMBER (US (415) 555-0134, 415-555-0134, 415.555.0134,
+1 415 555 0134; international +44 20 ..., +49 30 ...; UK national 020 ...); CREDIT_CARD (Luhn-valid Visa, Mastercard
51-55/2221-2720, Amex 15 digits, Discover; compact, spaced or dashed); IBAN_CODE (mod-97 valid, right length, 12
countries; compact or in groups of four); US_SSN (AAA-GG-SSSS, area not 000/666/900+, group not 00, serial not 0000;
dashes, some spaces); IP_ADDRESS (IPv4 public and RFC 1918; IPv6 full or '::'-compressed); API_KEY (AKIA..., ghp_...,
xoxb-/xoxp-..., sk_live_..., sk-..., AIza..., JWTs, generic 32-40 char hex/base62 secrets after cues such as
"password=", "token:", "secret"); PERSON (full name, maybe with middle initial, or a lone first name or surname);
LOCATION (cities, countries, US states, regions); ORGANIZATION (companies, universities, hospitals, banks, agencies;
a place inside an organisation name, e.g. "University of Toronto", is part of the ORGANIZATION span, not a LOCATION).

Templates (tickets, e-mails, chat, logs, HR/meeting/CRM notes, incidents, paper-like text) have {SLOTS} filled from
word lists and generators; unlabelled fillers add hard negatives (order/ticket/invoice numbers, dates, prices,
versions, short hashes, Luhn-failing 16-digit numbers, SKUs, doses, measurements, products, proteins, cell lines).
Template text names no person, place or organisation. The run fails loudly on a wrong offset, an invalid value, or a
lexicon entry / value-shaped string outside a span. Splits: ~30% dev, stratified by a sentence's rarest type.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import random
import re
import string
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "API_KEY", "PERSON", "LOCATION", "ORGANIZATION")
PII_REPS, NEG_REPS, DEV_FRACTION = 2, 4, 0.3


def _bars(s: str) -> list[str]:
    return [w.strip() for w in s.replace("\n", " ").split("|") if w.strip()]


FIRST = """James Oliver Emily Hannah Thomas Sarah Michael Laura Daniel Rebecca Matthew Megan Andrew Rachel Benjamin Natalie Christopher Lucy Samuel Abigail Nathan Chloe Edward Fiona Gregory Heather Siobhan Ciaran Aoife Declan José María Alejandro Lucía Carlos Sofía Javier Valentina Diego Camila
Mateo Isabel Andrés Paula Fernando Gabriela Ricardo Ximena João Thiago Larissa Priya Rahul Ananya Arjun Deepika Vikram Sneha Rohan Kavya Aditya Meera Siddharth Pooja Karthik Lakshmi Nikhil Divya Sanjay Wei Jing Xiaoling Hao Mei Ling Zhen Yifan Qiang Xin Ruoxi Haoran Tingting Zihan Omar Fatima Ahmed
Layla Youssef Aisha Khalid Noor Hassan Mariam Tariq Samira Karim Rania Ziad Huda Bilal Amira Chinedu Ngozi Oluwaseun Adaeze Emeka Folake Tunde Chiamaka Babajide Ifeoma Obinna Yetunde Kelechi Funmilayo Uchenna Amaka Lukas Johanna Matthias Katrin Jürgen Annika Stefan Birgit Felix Leonie Tobias Ulrike
Maximilian Sabine Haruto Yui Takeshi Kenji Aiko Hiroshi Naoko Yuki Kaori Daisuke Emi Sota Dmitri Olga Aleksandr Katarzyna Piotr Natalia Ivan Svetlana Tomasz Agnieszka Bogdan Irina Pavel Zofia Nikola Jelena Vesna Kwame Kofi Efua Mehmet Ayşe Emre Minjun Seoyeon Jiwoo Thanh Linh Amélie Étienne Mathieu
Chloé Luca Giulia Matteo Chiara""".split()
LAST = """Smith Johnson Williams Taylor Anderson Thompson Harris Clarke Walker Robinson Wright Mitchell Hughes Edwards Collins Stewart Bennett Foster Gallagher O'Brien Murphy Fitzgerald Sullivan Reynolds Patterson Whitaker García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez
Torres Flores Rivera Gómez Díaz Morales Ortiz Castillo Romero Vargas Mendoza Sharma Patel Iyer Reddy Nair Gupta Singh Kumar Mehta Chatterjee Banerjee Desai Joshi Rao Menon Kapoor Agarwal Pillai Bhattacharya Krishnan Wang Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Zhu Hu Guo Lin Gao Luo Al-Sayed
Haddad Khoury Mansour Nasser Saleh Farouk Hamdan Aziz Qureshi Rahman Hussein Abboud Darwish Kassem Barakat Okafor Adeyemi Okonkwo Eze Balogun Nwosu Adebayo Obi Chukwu Ogunleye Afolabi Onyekachi Uzoma Adewale Ibrahim Bello Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz
Koch Richter Klein Schröder Neumann Zimmermann Braun Krüger Hartmann Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki Matsumoto Inoue Kimura Ivanov Petrov Kowalski Nowak Wiśniewski Novák Horvat Kovačević Smirnova Volkov Sokolov Jovanović Dvořák
Lewandowski Kuznetsov Zielińska Nguyen Tran Pham Kim Lee Choi Yilmaz Kaya Demir Mensah Boateng Silva Oliveira Pereira Rossi Bianchi Romano Dubois Lefèvre Moreau Laurent Fontaine Andersson Johansson Nielsen Virtanen Dahl""".split()
CITIES = _bars("""Toronto|Berlin|Munich|Lagos|Nairobi|Mumbai|Bengaluru|Chennai|Delhi|Shanghai|Beijing|Shenzhen|Tokyo|Osaka|Seoul|Singapore|Dubai|Riyadh|Cairo|Istanbul|Madrid|Barcelona|Lisbon|Porto|Paris|Lyon|Marseille|Amsterdam|Rotterdam|Brussels|Antwerp|Zurich|Geneva|Vienna|Prague|Warsaw|Kraków|
Budapest|Bucharest|Athens|Rome|Milan|Naples|Dublin|Edinburgh|Manchester|Leeds|Glasgow|London|Oslo|Stockholm|Copenhagen|Helsinki|New York|Los Angeles|Chicago|Houston|San Francisco|Seattle|Boston|Denver|Atlanta|Miami|Pittsburgh|Minneapolis|Vancouver|Montreal|Calgary|Mexico City|São Paulo|Buenos Aires|
Bogotá|Lima|Johannesburg|Cape Town|Accra|Addis Ababa|Casablanca|Melbourne|Auckland|Jakarta|Manila|Hanoi|Bangkok|Kuala Lumpur|Karachi|Dhaka|Kyiv|Tbilisi|Reykjavík""")
COUNTRIES = _bars("""Germany|France|Spain|Italy|Belgium|Switzerland|Austria|Poland|Ireland|Sweden|Norway|Denmark|Finland|Portugal|Greece|Canada|Mexico|Brazil|Argentina|Colombia|Chile|Peru|Nigeria|Kenya|Ghana|Egypt|Morocco|South Africa|Ethiopia|India|Pakistan|Bangladesh|China|Japan|South Korea|
Vietnam|Indonesia|Australia|New Zealand|Turkey|Saudi Arabia|Qatar|Ukraine|Romania|Hungary|USA|UK|UAE""")
STATES = _bars("""California|Texas|Florida|Illinois|Ohio|Oregon|Colorado|Arizona|Nevada|Massachusetts|Michigan|Minnesota|North Carolina|Pennsylvania|New Jersey|Utah|Tennessee|Wisconsin|Maryland|Missouri|Iowa|Kansas|Louisiana|Kentucky|Alabama|Idaho|Montana|Vermont|Maine|Connecticut""")
REGIONS = _bars("""Bavaria|Catalonia|Lombardy|Tuscany|Scandinavia|Patagonia|Siberia|Andalusia|Provence|Flanders|Wallonia|Ontario|Quebec|British Columbia|Punjab|Kerala|Tamil Nadu|Maharashtra|Guangdong|Hokkaido|Kyushu|Yorkshire|Wales|Silicon Valley|New England|Scotland""")
COMPANIES = _bars("""Acme Logistics|Northwind Traders|Globex Corporation|Helix Biotech|Bluefin Analytics|Orion Freight|Crestline Insurance|Pinebrook Dental|Meridian Health Partners|Lumen Robotics|Harbor & Vale LLP|Kestrel Aerospace|Sable Systems|Quantis Labs|Redwood Capital|Aster Pharma|
Brightwave Media|Cobalt Energy|Granite Peak Software|Ironclad Security|Tidewater Foods|Siemens|Infosys|Tata Consultancy Services|Deutsche Telekom|Unilever|Nestlé|Samsung Electronics|Toyota|Accenture|Shopify|Maersk|Vodafone|Safaricom|Dangote Group|Alibaba|Reliance Industries|Airbus|Philips|Ericsson""")
UNIS = _bars("""University of Toronto|Stanford University|ETH Zurich|University of Lagos|Tsinghua University|University of Tokyo|Imperial College London|Indian Institute of Science|Technical University of Munich|Sorbonne University|University of Cape Town|McGill University|KU Leuven|
University of Melbourne|Seoul National University|American University of Beirut|University of Nairobi|Jagiellonian University|Universidad de Buenos Aires|Massachusetts Institute of Technology""")
HOSPITALS = _bars("""Mayo Clinic|Cleveland Clinic|Johns Hopkins Hospital|Charité|Massachusetts General Hospital|Great Ormond Street Hospital|Apollo Hospitals|Aga Khan University Hospital|Karolinska University Hospital|Toronto General Hospital|St Vincent's Hospital|Lagos University Teaching Hospital|
Mount Sinai Hospital|Hospital Clínic de Barcelona""")
BANKS = _bars("""Deutsche Bank|Barclays|HSBC|BNP Paribas|Santander|ING|Rabobank|UBS|Intesa Sanpaolo|KBC Bank|Bank of America|Wells Fargo|ICICI Bank|First Bank of Nigeria|Standard Chartered|Monzo|Revolut|Commerzbank""")
AGENCIES = _bars("""Internal Revenue Service|Social Security Administration|HM Revenue & Customs|World Health Organization|European Medicines Agency|Food and Drug Administration|National Health Service|Federal Trade Commission|UNICEF|Médecins Sans Frontières|Environmental Protection Agency|
National Institutes of Health|European Research Council""")
MAIL_DOMAINS = """gmail.com outlook.com yahoo.co.uk web.de gmx.de orange.fr proton.me hotmail.es libero.it icloud.com acme-logistics.com mail.northwind.io eu.helixbio.com cs.utoronto.ca student.unimelb.edu.au charite.de stanford.edu bluefin-analytics.co.uk corp.sablesystems.net mx.orionfreight.com
campus.lmu.de kestrel-aero.fr rediffmail.com qq.com naver.com yandex.ru ug.edu.gh mail.kyoto-u.ac.jp infosys.co.in redwoodcap.com.au""".split()
INTL_PHONES = """+44 20 #### ####|+44 161 ### ####|+44 7### ######|020 7### ####|+49 30 ######|+49 89 #######|+49 151 ########|+33 1 ## ## ## ##|+33 6 ## ## ## ##|+34 91 ### ## ##|+34 6## ### ###|+39 06 #### ####|+39 3## ### ####|+31 20 ### ####|+41 44 ### ## ##|+81 3-####-####|+81 90-####-####|
+91 9#### #####|+86 10 #### ####|+86 13# #### ####|+61 2 #### ####|+61 4## ### ###|+234 803 ### ####|+971 4 ### ####|+55 11 9####-####|+52 55 #### ####|+27 21 ### ####|+353 1 ### ####|+48 22 ### ## ##|+254 7## ######"""
ROLES = "support billing hr-team no-reply payroll it-helpdesk careers accounts security finance".split()
PRODUCTS = "Kubernetes PostgreSQL Redis Jira Grafana Terraform Nginx Kafka Elasticsearch Jenkins Airflow Excel Prometheus".split()
PROTEINS = "p53 BRCA1 EGFR KRAS HER2 TNF-α IL-6 GAPDH mTOR VEGF-A CD4 PD-L1 Cas9 ACE2 HIF-1α".split()
CELLS = "HeLa HEK293T MCF-7 A549 Jurkat U2OS HepG2 SH-SY5Y CHO-K1 K562".split()
MONTHS = "January February March April May June July August September October November December".split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday".split()
ALNUM, HEX = string.ascii_letters + string.digits, "0123456789abcdef"
US_AREAS = "212 213 206 214 303 305 312 404 415 503 512 602 617 646 702 713 720 773 818 917 919 470 669".split()
IBAN_SPEC = {"DE": "18n", "GB": "4a 14n", "FR": "10n 11c 2n", "ES": "20n", "NL": "4a 10n", "IT": "1a 10n 12c", "CH": "5n 12c", "BE": "12n",  # BBAN layout:
             "AT": "16n", "PL": "24n", "IE": "4a 14n", "SE": "20n"}  # count + n digits / a letters (4a = bank code) / c alphanumerics
IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "ES": 24, "NL": 18, "IT": 27, "CH": 21, "BE": 16, "AT": 20, "PL": 28, "IE": 22, "SE": 24}
BANK_CODES = {"GB": "NWBK BARC LOYD HBUK MIDL", "NL": "ABNA INGB RABO TRIO", "IE": "AIBK BOFI"}


def _rand(r: random.Random, pool: str, n: int) -> str:
    return "".join(r.choice(pool) for _ in range(n))


def luhn_ok(number: str) -> bool:
    ds = [int(c) for c in reversed(number)]
    return sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(ds)) % 10 == 0


def card(r: random.Random, valid: bool = True) -> str:
    prefix, length = r.choice([("4", 16), ("4", 16), (str(r.randint(51, 55)), 16), (str(r.randint(2221, 2720)), 16),
                               (r.choice(["34", "37"]), 15), (r.choice(["6011", str(r.randint(644, 649)), "65"]), 16)])
    body = prefix + _rand(r, string.digits, length - 1 - len(prefix))
    if not valid:  # hard negative: a 16-digit look-alike whose check digit fails Luhn
        body, length = body.ljust(15, "0"), 16
    num = next(body + c for c in r.sample(string.digits, 10) if luhn_ok(body + c) == valid)
    cuts = (0, 4, 10, 15) if length == 15 else (0, 4, 8, 12, 16)
    return r.choice(["", "", " ", " ", "-"] if valid else ["", " "]).join(num[a:b] for a, b in zip(cuts, cuts[1:]))


def iban(r: random.Random) -> str:
    cc, pools = r.choice(list(IBAN_SPEC)), {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits * 3 + string.ascii_uppercase}
    bban = "".join(r.choice(BANK_CODES[cc].split()) if p == "4a" else _rand(r, pools[p[-1]], int(p[:-1])) for p in IBAN_SPEC[cc].split())
    if cc == "BE":  # Belgian national check digits: first 10 digits mod 97 (97 when 0)
        bban = bban[:10] + f"{int(bban[:10]) % 97 or 97:02d}"
    code = f"{cc}{98 - int(''.join(str(int(c, 36)) for c in bban + cc + '00')) % 97:02d}{bban}"
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4)) if r.random() < 0.45 else code


def ssn(r: random.Random) -> str:
    area = r.choice([a for a in range(1, 900) if a != 666])
    return (" " if r.random() < 0.2 else "-").join([f"{area:03d}", f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"])


def ipv4(r: random.Random) -> str:
    k, tail = r.random(), f"{r.randint(0, 255)}.{r.randint(1, 254)}"
    if k < 0.45:  # RFC 1918 private ranges
        return f"10.{r.randint(0, 255)}.{tail}" if k < 0.2 else f"172.{r.randint(16, 31)}.{tail}" if k < 0.3 else f"192.168.{tail}"
    return f"{r.choice([a for a in range(11, 224) if a not in (100, 127, 169, 172, 192, 198, 203)])}.{r.randint(0, 255)}.{tail}"


def ipv6(r: random.Random) -> str:
    groups = [r.choice([0x2001, 0x2A00 + r.randint(0, 15), 0x2600 + r.randint(0, 15), 0x2804, 0xFE80])] + [r.randint(0, 0xFFFF) for _ in range(7)]
    if groups[0] == 0xFE80:  # link-local
        groups[1:4] = [0, 0, 0]
    elif r.random() < 0.6:  # a run of zero groups, so the compressed form has '::'
        start = r.randint(2, 5)
        groups[start:start + r.randint(2, 3)] = [0, 0]
        groups = (groups + [0])[:8]
    addr = ipaddress.IPv6Address(":".join(f"{g:04x}" for g in groups))
    return addr.exploded if r.random() < 0.35 else addr.compressed


def phone(r: random.Random) -> str:
    if r.random() < 0.5:
        a, e, n = r.choice(US_AREAS), str(r.randint(201, 989)), _rand(r, string.digits, 4)
        if r.random() < 0.2:
            e, n = "555", "01" + _rand(r, string.digits, 2)
        return r.choice(["({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}", "{a}.{e}.{n}", "+1-{a}-{e}-{n}"]).format(a=a, e=e, n=n)
    pat = r.choice(_bars(INTL_PHONES)).replace("#", r.choice("23456789"), 1)
    return "".join(r.choice(string.digits) if c == "#" else c for c in pat)


def email(r: random.Random) -> str:  # local part from an ASCII-folded name, a role account, or a handle
    f, l = (re.sub(r"[^a-z0-9-]", "", unicodedata.normalize("NFKD", r.choice(x)).encode("ascii", "ignore").decode().lower()) for x in (FIRST, LAST))
    local = r.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}_{l}", f"{f}.{l}+{r.choice(['billing', 'news', 'jobs'])}", f"{f}{r.randint(1, 99)}",
                      f"{l}.{f}", f, r.choice(ROLES), f"{l}{f[0]}{r.randint(70, 99)}"])
    return f"{local}@{r.choice(MAIL_DOMAINS)}"


def jwt(r: random.Random) -> str:
    iat, alg = r.randint(1_650_000_000, 1_760_000_000), r.choice(["HS256", "HS512"])
    claims = {"sub": str(r.randint(10**5, 10**9)), "iat": iat, "exp": iat + 3600, "scope": r.choice(["read", "admin", "billing"])}
    parts = [json.dumps(x, separators=(",", ":")).encode() for x in ({"alg": alg, "typ": "JWT"}, claims)]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts + [r.randbytes(32 if alg == "HS256" else 64)])


def _pick(seq: list[str]):
    return lambda r: r.choice(seq)


KEYS = {"AKIA": lambda r: "AKIA" + _rand(r, string.ascii_uppercase + string.digits, 16), "GHP": lambda r: "ghp_" + _rand(r, ALNUM, 36),
        "XOX": lambda r: f"xox{r.choice('bp')}-{_rand(r, string.digits, r.randint(10, 13))}-{_rand(r, string.digits, r.randint(10, 13))}-{_rand(r, ALNUM, 24)}",
        "STRIPE": lambda r: "sk_live_" + _rand(r, ALNUM, 24), "OAI": lambda r: "sk-" + _rand(r, ALNUM, r.randint(40, 51)),
        "GKEY": lambda r: "AIza" + _rand(r, ALNUM + "-_", 35), "JWT": jwt,
        "SECRET": lambda r: _rand(r, HEX, r.choice([32, 40])) if r.random() < 0.5 else _rand(r, ALNUM, r.randint(32, 40))}
KEYS["KEY"] = lambda r: KEYS[r.choice(["AKIA", "GHP", "XOX", "STRIPE", "OAI", "GKEY"])](r)
PER, LOC, ORG = "PERSON", "LOCATION", "ORGANIZATION"
LABELLED = {"EMAIL": ("EMAIL_ADDRESS", email), "PHONE": ("PHONE_NUMBER", phone), "CARD": ("CREDIT_CARD", card), "IBAN": ("IBAN_CODE", iban),
            "SSN": ("US_SSN", ssn), "IP": ("IP_ADDRESS", lambda r: ipv6(r) if r.random() < 0.2 else ipv4(r)), "IP4": ("IP_ADDRESS", ipv4),
            "IP6": ("IP_ADDRESS", ipv6), **{k: ("API_KEY", f) for k, f in KEYS.items()},
            "NAME": (PER, lambda r: f"{r.choice(FIRST)} {r.choice(string.ascii_uppercase) + '. ' if r.random() < 0.12 else ''}{r.choice(LAST)}"),
            "FIRST": (PER, _pick(FIRST)), "LAST": (PER, _pick(LAST)), "LOC": (LOC, _pick(CITIES * 2 + COUNTRIES + STATES + REGIONS)),
            "CITY": (LOC, _pick(CITIES)), "COUNTRY": (LOC, _pick(COUNTRIES)), "STATE": (LOC, _pick(STATES)), "ORG": (ORG, _pick(COMPANIES)),
            "UNI": (ORG, _pick(UNIS)), "HOSP": (ORG, _pick(HOSPITALS)), "BANK": (ORG, _pick(BANKS)), "AGENCY": (ORG, _pick(AGENCIES))}
FILLERS = {"ORDER": lambda r: f"{r.choice(['ORD', 'PO', 'SO', 'RMA'])}-{r.randint(10000, 999999)}", "DATE": lambda r: (lambda y, m, d: r.choice([
               f"{MONTHS[m - 1]} {d}", f"{d} {MONTHS[m - 1][:3]} {y}", f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", WEEKDAYS[d % 5]]))(
               r.choice([2023, 2024, 2025]), r.randint(1, 12), r.randint(1, 28)),
           "PRICE": lambda r: (lambda v: r.choice([f"${v:,.2f}", f"€{v:,.2f}", f"£{v:.2f}", f"USD {int(v):,}", f"{v:.2f} EUR"]))(r.randint(5, 250000) / r.choice([1, 100])),
           "TICKET": lambda r: f"{r.choice(['INC', 'SUP', 'HD', 'CASE'])}-{r.randint(1000, 99999)}",
           "INVOICE": lambda r: f"INV-{r.choice([2023, 2024, 2025])}-{r.randint(1, 9999):05d}",
           "TIME": lambda r: r.choice([f"{r.randint(7, 20)}:{r.choice(['00', '15', '30', '45'])}", f"{r.randint(1, 11)} {r.choice(['am', 'pm'])}"]),
           "TS": lambda r: f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z",
           "VER": lambda r: r.choice(["v", ""]) + ".".join(str(r.randint(0, 19)) for _ in range(r.choice([2, 3]))),
           "HASH": lambda r: _rand(r, HEX, r.choice([7, 8])), "BADCARD": lambda r: card(r, valid=False),
           "SKU": lambda r: f"{_rand(r, string.ascii_uppercase, 2)}-{r.randint(100, 9999)}-{r.choice(['BLK', 'WHT', 'L', 'XL', 'R2'])}",
           "NUM": lambda r: str(r.randint(2, 480)), "PCT": lambda r: f"{r.randint(1, 95)}.{r.randint(0, 9)}%",
           "DOSE": _pick(["250 mg", "5 mL", "0.5 mg/kg", "10 µg", "40 mg", "2 g", "100 IU"]), "MS": lambda r: str(r.randint(80, 9000)),
           "MEAS": lambda r: r.choice([f"{r.randint(1, 40)}.{r.randint(0, 9)} kg", f"{r.randint(2, 180)} cm", f"{r.randint(5, 900)} nM"]),
           "PORT": _pick(["22", "443", "8080", "5432", "6379", "9092", "3389"]), "PID": lambda r: str(r.randint(300, 65000)),
           "PROD": _pick(PRODUCTS), "PROT": _pick(PROTEINS), "CELL": _pick(CELLS)}
PII_TEMPLATES = r"""
Customer {NAME} says card {CARD} was charged twice for order {ORDER}; please refund {PRICE}. || Card {CARD} declined at checkout (SKU {SKU}, {PRICE}); the customer is still on the line. || {TS} ERROR payments: charge failed card={CARD} amount={PRICE} code=do_not_honor || ok sending u my card {CARD} exp 08/27, delete this msg after pls
Someone in {CITY} used {CARD} at {TIME} on {DATE} and it was not me. || Card on file {CARD} expires next month, remind {FIRST} to update it. || {CARD} was flagged by the fraud model with score 0.{NUM}; billing contact is {EMAIL}. || Please charge the remaining {PRICE} to {CARD} and email the receipt to {EMAIL}.
Chargeback received for {CARD}: merchant {ORG}, amount {PRICE}, dispute opened {DATE}. || Hi, I am {NAME}, my card number is {CARD} and I was billed for a plan I cancelled. || The PDF of invoice {INVOICE} printed the full card number {CARD} instead of the last four digits. || Agent note: caller read out {CARD} over the phone; advised {FIRST} never to do that again.
POST /v1/charges body={"source":"{CARD}","amount":{NUM}} returned 402 || Corporate card {CARD} (holder {NAME}, {ORG}) hit its monthly limit. || Test ran with a real card, {CARD}, instead of the sandbox number; purge the fixture in {HASH}. || Expense report from {LAST}: hotel in {CITY}, {PRICE}, paid with {CARD}. || Refund issued to the original card {CARD}; funds arrive in 5-10 business days.
Support transcript contains {CARD} and the CVV; redact it before sharing with {ORG}. || Recurring donation of {PRICE} from {CARD} for {NAME} failed on {DATE}. || {NAME} updated the payment method to {CARD} from {IP}. || The screenshot attached to {TICKET} shows the card {CARD} and the phone number {PHONE}. || chargeback alert: {CARD} / {PRICE} / {CITY}
Booking for {FIRST} at the {CITY} hotel is guaranteed with {CARD}. || Fraud team: velocity spike on {CARD}, {NUM} attempts from {IP} within a minute. || Please don't paste {CARD} into chat, use the secure form! || Payment method changed from {CARD} to IBAN {IBAN} by {FIRST}. || {CARD} is the company card, ask {LAST} before using it.
Duplicate authorisation on {CARD} for {PRICE}, merchant reference {ORDER}. || Travel desk booked flights to {LOC} for {NAME} using {CARD}. || Audit found {CARD} in plaintext in the {PROD} logs of the {CITY} cluster. || Customer from {COUNTRY} asks why {CARD} was charged in USD. || pmt_method: card {CARD} | customer: {EMAIL} | status: failed
Mr. {LAST} wants the subscription moved from {CARD} to {CARD}. || {FIRST} typed the card {CARD} into the notes field again. || Our reconciliation matched {CARD} to settlement batch {ORDER} ({PRICE}). || Declined: {CARD}. Reason: insufficient funds. Retrying on {DATE}. || The donor {NAME} of {CITY} gave {PRICE} via {CARD}. || Card {CARD} was reported stolen in {COUNTRY} on {DATE}.
{CARD} {PRICE} approved auth_code={NUM} || Preauthorisation of {PRICE} placed on {CARD} for the car rental in {CITY}. || Can you check {CARD}? {ORG} says the payment never arrived. || Tuition for {NAME} at {UNI} was paid by {CARD}. || Refund of {PRICE} to {IBAN} was approved by {FIRST} in billing. || Wrong IBAN on file: we have {IBAN} but the customer says it should be {IBAN}.
Payment failed for {INVOICE}; the SEPA mandate references {IBAN} at {BANK}. || Please wire the deposit to IBAN {IBAN} (beneficiary {ORG}, reference {INVOICE}). || Our bank details changed: {BANK}, IBAN {IBAN}. Please update your records before {DATE}. || The invoice {INVOICE} for {PRICE} was paid from {IBAN}, please confirm receipt. || did {LAST} ever send the IBAN? nvm found it: {IBAN}
{TS} billing-worker[{PID}]: SEPA debit created iban={IBAN} amount={PRICE} || Payroll change: salary for {NAME} will be paid to {IBAN} from next month. || New hire paperwork: {NAME}, born in {COUNTRY}, direct deposit to {BANK} account {IBAN}. || {ORG} renewed for {NUM} seats; billing contact {EMAIL}, IBAN {IBAN}. || {IBAN} is the account of {ORG} in {CITY}; payment terms 30 days.
Supplier {ORG} asks us to use {IBAN} instead of their account at {BANK}. || Phishing attempt: an email from {EMAIL} claims our vendor's account is now {IBAN}. || Rent for the {CITY} flat goes to {IBAN}, landlord {NAME}. || Reimburse {FIRST} {PRICE} for the conference in {LOC}; account {IBAN}. || Beneficiary: {NAME} | IBAN: {IBAN} | Amount: {PRICE}
Grant payment from {AGENCY} to {UNI}, account {IBAN}, reference {ORDER}. || {IBAN} bounced with reason code AC04 (account closed). || Could you double-check {IBAN}? The checksum passed but {BANK} rejected it. || Kontoinhaber {NAME}, {IBAN}, Verwendungszweck {INVOICE}. || Virement de {PRICE} vers {IBAN} pour {NAME}. || The freelancer invoice from {NAME} lists {IBAN} and a phone number, {PHONE}.
Standing order of {PRICE} to {IBAN} cancelled on {DATE}. || {FIRST}, the tuition transfer to {UNI} should go to {IBAN}, not the old account. || Treasury moved {PRICE} from {IBAN} to {IBAN} at {TIME}. || Customer {EMAIL} wants refunds sent to {IBAN} instead of the card. || The CSV export in {TICKET} includes the IBAN column, e.g. {IBAN}, and must be encrypted.
Escrow account for the {COUNTRY} acquisition: {IBAN}. || my iban is {IBAN} thx || Direct debit for {ORG} will be collected from {IBAN} on the 1st of each month. || Insurance claim {ORDER} payout to {IBAN} (policy holder {LAST}). || Account {IBAN} ({BANK}) was flagged by AML screening on {DATE}. || Refund ref {ORDER}: {PRICE} credited to {IBAN}.
{NAME} asked to split salary between {IBAN} and a savings account at {BANK}. || Please find our details: {ORG}, {CITY}, {IBAN}. || Hospital fees at {HOSP} were settled from {IBAN}. || The vendor master record for {ORG} was edited from {IP}; IBAN changed to {IBAN}. || Mailbox {EMAIL} was compromised and sent invoices with a new IBAN, {IBAN}.
The tax form preview shows my full SSN {SSN}, can you mask everything except the last four digits? || Verified caller identity with date of birth and SSN {SSN}; address confirmed in {STATE}. || ssn is {SSN}, do you need anything else for the lease? || {TS} WARN export job wrote ssn={SSN} to stdout; masking filter not applied
{NAME} starts on {DATE} in the {CITY} office; SSN {SSN} verified for payroll. || Background check for {NAME} (SSN {SSN}) returned clear; previous employer {ORG}. || Per {FIRST}, the I-9 form listed {SSN} but the card reads {SSN}; please reconcile. || Impact: {NUM} customer records including SSNs (e.g. {SSN}) were exposed via {IP}. || {TS} audit: {NAME} viewed record {NUM} (ssn {SSN}) from {IP}
Applicant {NAME}, SSN {SSN}, phone {PHONE}, requests a credit limit increase. || {SSN} belongs to the dependent, not the primary member {LAST}. || Patient {NAME} admitted to {HOSP}; the insurer requires SSN {SSN}. || W-2 for {FIRST}: SSN {SSN}, employer {ORG}, state {STATE}. || Loan application {ORDER}: borrower SSN {SSN}, co-borrower {NAME}.
Please stop emailing SSNs like {SSN} to {EMAIL}; use the secure portal. || The {PROD} export had a column of SSNs ({SSN}, {SSN}, ...). || My social is {SSN} and I live in {STATE}. || Benefits enrollment: {NAME}, SSN {SSN}, plan B. || {FIRST} says the SSN on the form, {SSN}, has two digits swapped. || Tenant screening for {NAME}: SSN {SSN}, current address in {CITY}.
The call recording contains {SSN}; flag it for redaction. || customer_ssn="{SSN}" customer_email="{EMAIL}" || Identity theft report: someone opened an account at {BANK} using {SSN}. || Employee {LAST} provided {SSN} for the retirement plan rollover to {BANK}. || {SSN} was verified against the {AGENCY} database on {DATE}. || Student {NAME} at {UNI} submitted SSN {SSN} for the financial aid form.
Tax preparer note: spouse SSN {SSN}, filing jointly, resident of {STATE}. || Do not include {SSN} in the ticket title, {FIRST}. || We received a fax with {NAME}'s SSN ({SSN}) and home phone {PHONE}. || Payroll import row {NUM}: {SSN},{NAME},{STATE} || The claimant's SSN is {SSN}; claim number {ORDER}. || Fraud alert: SSN {SSN} used in {NUM} applications from {IP}.
SSN verification failed for {SSN}; ask {FIRST} to re-enter it. || {NAME}'s new hire packet includes SSN {SSN} and an emergency contact, {NAME}. || HR accidentally shared a sheet with SSN {SSN} to {EMAIL}. || The old CRM stores SSNs in the notes field, e.g. "{SSN} verified by {FIRST}". || {SSN} {NAME} {DATE} || Quick q: is {SSN} the right format for the payroll field?
{SSN}? That's not mine, {FIRST} must have mistyped it. || Candidate {LAST} asked why we need {SSN} before the offer is signed. || Credit report pulled for SSN {SSN} at {TIME}, requested by {NAME} of {ORG}. || Replacement card application: SSN {SSN}, mailing address in {STATE}, contact {EMAIL}. || Please call me back on {PHONE}, I have been waiting since {DATE}.
Hi, I moved from {CITY} to {CITY} and need my billing address updated; my number is still {PHONE}. || Priority: high. {ORG} cannot export invoices since {VER}; contact {NAME} at {PHONE}. || Can someone from the {COUNTRY} team call {PHONE} before {TIME}? The client is upset. || Kind regards, {NAME} | Head of Procurement | {ORG} | {PHONE}
I'm out of office until {DATE}. For urgent matters contact {NAME} ({PHONE}). || my cell is {PHONE} text me when ur in {CITY} || Emergency contact for {FIRST}: {NAME}, {PHONE}. || Notes taken by {FIRST}. Next sync {DATE}, bridge line {PHONE}. || Lead from {CITY}: {NAME}, {PHONE}, interested in the {PROD} integration. || Left voicemail on {PHONE}. {FIRST} prefers e-mail.
Do not call {PHONE} before {TIME} local time ({CITY}). || {PHONE} called three times about {TICKET}; no name given. || Phishing mail from {EMAIL} impersonated {ORG} and asked staff to call {PHONE}. || {TS} ERROR notifier: SMS to {PHONE} failed (carrier timeout after {MS} ms) || Reception at {HOSP}: {PHONE}. Ask for {NAME} in cardiology. || Dr. {LAST} can be paged at {PHONE} until {TIME}.
Missed call from {PHONE} ({CITY}) at {TIME}. || Text {FIRST} at {PHONE} once the courier arrives. || 2FA codes are going to {PHONE}, which the user says is not their number. || Hotline for the {COUNTRY} rollout: {PHONE} (English) or {PHONE} (local language). || Driver {NAME} will collect the parcel; mobile {PHONE}. || {NAME}, {ORG}, {EMAIL}, {PHONE} (imported from the conference badge scanner)
Customer asked us to remove {PHONE} from all marketing lists. || If the server room alarm goes off, call facilities on {PHONE}. || The press contact for {UNI} is {NAME}, reachable on {PHONE}. || Callback requested: {PHONE}, topic refund for {ORDER}. || Our {CITY} office moved; the new main line is {PHONE}. || SIM swap suspected on {PHONE} after a login from {IP}.
{FIRST}'s number changed to {PHONE}, update the on-call rota. || Phone: {PHONE} | Email: {EMAIL} | Location: {CITY}, {COUNTRY} || Call {PHONE} and ask for {LAST} about the shipment held in {CITY} customs. || The caller from {PHONE} claimed to be from {BANK} and asked for the card number. || Contact tracing: participant reachable at {PHONE}, tested at {HOSP}.
Interviews for the {UNI} study were scheduled via {PHONE}. || Conference dial-in: {PHONE}, meeting ID {NUM} {NUM}. || Vendor support line {PHONE} is only staffed on weekdays, {TIME} CET onwards. || Wrong number on file: {PHONE} belongs to someone else, the correct one is {PHONE}. || Parent contact for the field trip: {NAME}, {PHONE}.
Ticket {TICKET}: {FIRST} cannot log in and the reset link sent to {EMAIL} never arrived. || {EMAIL} reports that the {PROD} dashboard times out after {MS} ms on {VER}. || Account locked after {NUM} failed attempts from {IP}; user {EMAIL} has been notified. || Ms. {LAST} asked us to delete all data linked to {EMAIL} under GDPR Article 17.
{NAME} ({EMAIL}) wants to upgrade to the enterprise plan and move the workspace to {COUNTRY}. || Hi {FIRST}, attaching the signed contract for {ORG}; is {EMAIL} the right address for invoices? || Thanks {FIRST}! I'll loop in {NAME} from our {CITY} office, reachable at {EMAIL}. || Can you resend the offer letter to {EMAIL}? The copy sent to {EMAIL} bounced.
Welcome aboard, {FIRST}! Your laptop ships to our {CITY} office and IT will email {EMAIL} with setup steps. || {FIRST}: is {EMAIL} still your work mail or did you switch after {ORG} got acquired? || {TS} WARN auth: failed login for {EMAIL} from {IP} (attempt {NUM}) || {TS} INFO mailer: queued message to {EMAIL} (size {NUM} KB)
{"ts":"{TS}","level":"warn","user":"{EMAIL}","ip":"{IP}","msg":"mfa bypass attempt"} || Exit interview with {NAME} scheduled; send the equipment return label to {EMAIL}. || Spoke with {NAME}, CFO at {ORG}; follow up at {EMAIL} after {DATE}. || Correspondence should be addressed to {NAME} ({EMAIL}), {UNI}, {CITY}, {COUNTRY}. || Bounce: <{EMAIL}> mailbox full (552 5.2.2)
From: {NAME} <{EMAIL}> Subject: Re: {TICKET} still broken || cc {EMAIL} and {EMAIL} on the renewal thread please || The newsletter list still contains {EMAIL} although the user unsubscribed on {DATE}. || The shared drive invite went to {EMAIL} instead of the intended recipient at {ORG}. || {EMAIL} signed up from {IP} with a throwaway-looking address.
The Reply-To header was spoofed to {EMAIL} in the campaign targeting {ORG} staff. || Send the lab results to {EMAIL}, not to the general inbox at {HOSP}. || Please add {EMAIL} to the {PROD} admin group. || user {EMAIL} exceeded quota ({PCT}) on {DATE} || Submission received from {EMAIL} ({UNI}); reviewers assigned: {LAST}, {LAST}.
Password reset requested for {EMAIL} from a new device in {CITY}. || Your account {EMAIL} was added to the {COUNTRY} sales workspace by {NAME}. || {NAME} changed the recovery address from {EMAIL} to {EMAIL}. || DMARC report: {NUM} messages from {IP} claimed to be {EMAIL}. || Job applicant {NAME} <{EMAIL}> applied for the {CITY} data engineer role.
I think the right contact is {EMAIL} but {FIRST} might know better. || Out of office: write to {EMAIL} for anything about the {ORG} account. || Duplicate CRM contacts merged: {EMAIL} and {EMAIL} are the same person, {NAME}. || The invitation to review was sent to {EMAIL} on {DATE}. || The alert routed to {EMAIL} because the on-call rotation for {PROD} was empty.
Reach me at {EMAIL} or {PHONE}, whichever is easier. || Meeting invite from {EMAIL} for {DATE}, location {CITY}. || User at {IP} hit the rate limit {NUM} times in a minute. || Escalating {TICKET} to tier 2; the user at {IP} keeps getting HTTP 403 on /api/v2/orders. || anyone know who owns {IP}? it's hammering the login endpoint
wifi at the {CITY} office is down again, gateway {IP4} not responding || {IP4} - - [{TS}] "GET /api/v1/users HTTP/1.1" 200 {NUM} || sshd[{PID}]: Accepted publickey for deploy from {IP} port {PORT} ssh2 || kernel: [UFW BLOCK] IN=eth0 SRC={IP4} DST={IP4} PROTO=TCP DPT={PORT} || upstream {IP4}:{PORT} marked down after {NUM} consecutive failures
{TS} dhcp: lease {IP4} assigned to host build-agent-{NUM} || {TS} resolver: AAAA for api.internal -> {IP6} || {LAST} flagged that the staging box {IP} still has production credentials. || Credential stuffing against accounts in {COUNTRY}, traffic originating from {IP} and {IP}. || Timeline: {TIME} alert fired on {IP6}; {TIME} {FIRST} revoked {GHP}.
At {TS} an attacker from {IP} used a leaked key ({AKIA}) to list storage buckets. || Allowlist {IP} for the {ORG} integration, they call us from that address only. || Please add {IP6} to the firewall rule for the {CITY} VPN. || Ping to {IP} shows {PCT} packet loss since {TIME}. || The DNS record for the portal still points to {IP4}, which we decommissioned on {DATE}.
GeoIP puts {IP} in {CITY}, {COUNTRY}, but the user says they never left {LOC}. || Blocked {IP} after {NUM} requests to /wp-login.php in {MS} ms. || The printer on the third floor has a static address, {IP4}. || Connection from {IP} to db-primary:{PORT} refused (pg_hba.conf) || Our egress IPs are {IP4} and {IP6}; share them with {ORG}.
Login for {NAME} from {IP} looked suspicious, MFA challenge sent to {PHONE}. || {IP4} is the old load balancer, do not point anything at it. || X-Forwarded-For: {IP4}, {IP4} || Lab instrument {NUM} at {UNI} is reachable at {IP4} on port {PORT}. || traceroute stalls at hop {NUM} ({IP4}) || The audit log shows {EMAIL} signing in from {IP6} at {TIME}.
Can you check why {IP} is sending SMTP traffic? It belongs to the {CITY} branch. || eth0: inet {IP4}/24 scope global || inet6 {IP6}/64 scope global dynamic || Bastion host moved to {IP}; update your ~/.ssh/config, {FIRST}. || Scan from {IP} matched the signature for {PROD} {VER} exploitation. || RDP brute force from {IP} (hosted in {COUNTRY}) against {NUM} workstations.
The camera in the {CITY} warehouse streams to {IP4}:{PORT}. || Vendor {ORG} needs to allowlist {IP} before {DATE}. || {FIRST} from {ORG} says the webhook signing secret {SECRET} was committed to a public repo, please rotate. || Reopened {TICKET}: still seeing "invalid token" for key {KEY} after the {VER} rollout. || Forwarding {FIRST}'s note: the vendor portal login is {EMAIL} / password={SECRET}
lol {FIRST} just pasted {KEY} in #general, someone revoke it pls || pushed {HASH} to main, also rotated the token, old one was {KEY} || who put {SECRET} in the .env.example lol || level=info msg="token issued" sub={NUM} token={JWT} ip={IP} || DEBUG config loaded: ACCESS_KEY_ID={AKIA} region=eu-west-1 || curl -H "Authorization: Bearer {JWT}" https://api.internal/v2/reports
export LLM_API_KEY={OAI} || git log shows {HASH} added config with GH_TOKEN={GHP} || bot_token: {XOX} || PAYMENTS_SECRET_KEY={STRIPE} was found in the {PROD} job output. || maps_api_key = "{GKEY}" || Root cause: {NAME} pasted a production token, {KEY}, into a support ticket. || The leaked webhook token {XOX} was posted in a public channel for {NUM} minutes.
Postmortem owner: {NAME}. Detection gap: the secret scanner missed {STRIPE}. || Exposed client secret {SECRET} found in build log {HASH}; rotated by {FIRST}. || {AKIA} has not been used for {NUM} days, disable it. || The notebook shared by {NAME} contains api key: {SECRET} || token: {SECRET} || Set-Cookie: session={JWT}; HttpOnly; Secure
{OAI} - is this key still active? It bills to the {CITY} team. || Please revoke {GHP}; it had repo and admin:org scopes. || Found {GKEY} hardcoded in the mobile app {VER}. || "client_secret": "{SECRET}", "redirect_uri": "https://app.internal/callback" || docker run -e API_TOKEN={KEY} registry.internal/worker:{VER} || The config map in {PROD} exposes secret={SECRET} to every pod.
mysql -u admin --password={SECRET} -h {IP4} || Here is the key for the staging bucket: {AKIA}. The secret is in the vault. || {JWT} was accepted even though it expired on {DATE}. || hey {FIRST} can u try with {STRIPE} instead of the test key || Rotated the signing secret {SECRET} to a vault reference per {TICKET}. || Incident {TICKET}: {GHP} pushed malicious commits to {NUM} repos.
Key {OAI} exceeded its monthly budget ({PRICE}). || Please remove {XOX} from the README, {FIRST}. || apiKey: "{GKEY}", authDomain: "app.internal" || password: {SECRET} || requests.get(url, headers={"X-Api-Key": "{KEY}"}) || Customer {EMAIL} emailed us their own token {KEY} asking why it fails. || Samples were collected at {HOSP} and sequenced at {UNI}, as described by {LAST} et al.
{PROT} expression rose {NUM}-fold in {CELL} cells, consistent with work from {NAME}'s group at {UNI}. || The trial enrolled {NUM} patients across sites in {COUNTRY} and {COUNTRY} and was funded by {AGENCY}. || Patients received {DOSE} daily at {HOSP}; adverse events were reported to {AGENCY}. || We thank {NAME} and {NAME} for helpful discussions.
Soil samples from {LOC} showed {PCT} lower nitrogen content than controls. || Data were provided by {ORG} under agreement {ORDER}. || {NAME} ({UNI}) and {NAME} ({UNI}) contributed equally to this work. || Cohort recruitment took place in {STATE} and {STATE} between 2019 and 2022. || Mass spectrometry was performed at the core facility of {UNI} by {NAME}.
Attendees: {NAME}, {NAME}, {FIRST} (remote from {CITY}). || Action item: {FIRST} to send the revised SOW to {ORG} by {DATE}. || {NAME} presented Q3 numbers: revenue up {PCT} in {COUNTRY}, flat elsewhere. || Decision: move the pilot with {ORG} from {CITY} to {CITY} next quarter. || Partnership call with {UNI}: {NAME} will share the dataset under a DUA.
Budget review: the {ORG} quote is {PRICE}; {FIRST} thinks {ORG} will go lower. || {NAME} moved from {ORG} to {ORG}; update the account owner. || Prospect based in {STATE}; the decision maker is {LAST}, meeting booked for {DATE}. || {FIRST} requested relocation from {CITY} to {CITY}, manager approved on {DATE}. || Reference call with {NAME} of {ORG}, who managed the candidate for {NUM} years.
{LAST} is on parental leave until {DATE}; {FIRST} covers the {STATE} accounts. || brb, call from {NAME} || {FIRST} and {FIRST} are flying to {LOC} tomorrow || A laptop belonging to {NAME} was stolen in {CITY}; the disk was encrypted. || Dear Dr. {LAST}, your appointment at {HOSP} is confirmed for {DATE} at {TIME}. || {ORG} opened a second data center in {LOC}.
Prof. {NAME} leaves {UNI} for {UNI} in the autumn. || {CITY} and {CITY} will share the on-call rotation this month. || Congrats to {FIRST} on the promotion! || {LAST} approved the purchase order; {FIRST} will sign for {ORG}. || The audit by {AGENCY} covers our operations in {COUNTRY} and {LOC}. || {BANK} froze the account pending a review by {AGENCY}.
Reminder from {NAME}: flu shots at {HOSP} this Friday. || Regional sales in {LOC} were led by {NAME} until {DATE}. || {NAME}, {NAME}, and {NAME} joined the {CITY} team. || Ask {FIRST}, they know the {ORG} contract best. || Shipment to {CITY}, {COUNTRY} is delayed at customs; contact {NAME}. || {HOSP} reported {NUM} admissions with the new variant this week.
Keynote by {NAME} of {ORG} at the summit in {CITY}. || The {UNI} team, led by {LAST}, released benchmark {VER}.
"""
NEG_TEMPLATES = r"""
Order {ORDER} shipped on {DATE}; tracking number {BADCARD}. || Upgraded {PROD} to {VER} and p95 latency dropped to {MS} ms. || Commit {HASH} fixes the off-by-one in the pagination cursor. || {PROT} knockdown reduced proliferation of {CELL} cells by {PCT}. || Administer {DOSE} twice daily with food; do not exceed {DOSE} per day. || Invoice {INVOICE} totals {PRICE} including VAT.
The package weighs {MEAS} and measures 40 x 30 x 12 cm. || SKU {SKU} is back in stock at {PRICE}. || Ticket {TICKET} closed: could not reproduce on {VER}. || Reminder: the quarterly review moved to {DATE} at {TIME}. || Rebooted node-{NUM} after the kernel update; uptime reset. || Please use the staging cluster for load tests, not production.
Serial number {BADCARD} is printed on the back of the router. || Build {NUM} failed at the lint step ({MS} ms) on commit {HASH}. || The inhibitor binds {PROT} with a Kd of {NUM} nM. || Median follow-up was {NUM} days; {PCT} of participants were female. || Cache hit ratio is {PCT} after enabling {PROD}. || Revenue grew {PCT} quarter over quarter to {PRICE}. || Thanks, that fixed it!
Can we push the release to {DATE}? || Port {PORT} is now closed on the public load balancer. || Version {VER} deprecates the legacy export endpoint. || Dosage: {DOSE} every {NUM} hours as needed. || Store the reagents at -20 °C and thaw on ice before use. || Meeting notes: agreed to freeze the schema until {DATE}. || Customer asked whether order {ORDER} can be split into two shipments.
Confocal imaging shows {PROT} and {PROT} co-localise in the nucleus. || Reference number {BADCARD} does not match any payment in the ledger. || Action item: update the runbook for {PROD} failover. || Disk usage on /var hit {PCT}; rotated the logs. || Western blot confirmed reduced {PROT} levels after {NUM} h of treatment. || Release {VER} is tagged as {HASH}.
Great work everyone, the launch went smoothly. || Due to maintenance, checkout will be unavailable for {NUM} minutes from {TIME} UTC. || Part {SKU} replaces {SKU}; both fit the 2019 chassis. || Incident {TICKET} resolved: the root cause was an expired TLS certificate. || The cohort included {NUM} mice, {NUM} of which received the vehicle control. || Average handle time dropped from {NUM} to {NUM} seconds.
Barcode {BADCARD} was scanned twice at the warehouse dock. || Spring sale: {PCT} off all accessories until {DATE}. || Error code E{NUM} means the printer tray is empty. || Apply patch {VER} before enabling the new scheduler. || Quarterly numbers are due {DATE}; use the template in the shared drive. || Statistical significance was set at p < 0.05 (two-sided).
Pipeline {HASH} deployed {NUM} pods in {MS} ms. || Order {ORDER}: {NUM} units of {SKU} at {PRICE} each. || The enzyme was incubated at 37 °C for {NUM} minutes. || Monthly active users reached {NUM}k, up {PCT}. || Security updates were applied to all workstations on {DATE}. || Shipment {ORDER} weighs {MEAS}; customs value {PRICE}. || Tumour volume fell by {PCT} in the treated arm (n = {NUM}).
Please attach logs from {VER} and the output of the health check. || Budget for the offsite is {PRICE}, approved on {DATE}. || Return {ORDER} approved; label code {SKU}.
"""
SLOT = re.compile(r"\{([A-Z0-9]+)\}")


def _templates(block: str) -> list[str]:
    return [t.strip() for line in block.strip().splitlines() for t in line.split(" || ") if t.strip()]


def render(template: str, r: random.Random) -> tuple[str, list[dict]]:
    text, spans, pos = "", [], 0
    for m in SLOT.finditer(template):
        text += template[pos:m.start()]
        typ, gen = LABELLED.get(m[1]) or (None, FILLERS[m[1]])  # KeyError: a typo in a template slot
        value, pos = gen(r), m.end()
        if typ:
            spans.append({"start": len(text), "end": len(text) + len(value), "type": typ, "value": value})
        text += value
    return text + template[pos:], spans


LEXICON = sorted(set(FIRST + LAST + CITIES + COUNTRIES + STATES + REGIONS + COMPANIES + UNIS + HOSPITALS + BANKS + AGENCIES), key=len, reverse=True)
LEAK_RE = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, LEXICON)) + r")(?!\w)")
SHAPE_RE = re.compile(r"\w@\w|AKIA|ghp_|xox[bp]-|sk_live_|\bsk-|AIza|eyJ|::|\b\d{3}[- ]\d{2}[- ]\d{4}\b|\(\d{3}\) ?\d{3}|\b\d{3}[-.]\d{3}[-.]\d{4}\b|\+\d|\b\d{1,3}(?:\.\d{1,3}){3}\b")
KEY_RE = re.compile(r"AKIA[A-Z0-9]{16}|ghp_[A-Za-z0-9]{36}|xox[bp]-\d{10,13}-\d{10,13}-[A-Za-z0-9]{24}|sk_live_[A-Za-z0-9]{24}|sk-[A-Za-z0-9]{40,}|"
                    r"AIza[\w-]{35}|eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{40,}|[0-9a-f]{32}|[0-9a-f]{40}|[A-Za-z0-9]{32,40}")
VALID = {"EMAIL_ADDRESS": lambda v: re.fullmatch(r"[a-z0-9][a-z0-9._+-]*@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", v),
         "PHONE_NUMBER": lambda v: re.fullmatch(r"\+?[\d ().-]+", v) and 9 <= len(re.sub(r"\D", "", v)) <= 13,
         "CREDIT_CARD": lambda v: re.fullmatch(r"\d[\d -]+\d", v) and len(re.sub(r"\D", "", v)) in (15, 16) and luhn_ok(re.sub(r"\D", "", v)),
         "IBAN_CODE": lambda v: IBAN_LEN.get(v[:2]) == len(s := v.replace(" ", "")) and int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1,
         "US_SSN": lambda v: (m := re.fullmatch(r"(\d{3})([- ])(\d{2})\2(\d{4})", v)) and m[1] not in ("000", "666") and m[1] < "900" and m[3] != "00" and m[4] != "0000",
         "IP_ADDRESS": lambda v: not ipaddress.ip_address(v).is_loopback, "API_KEY": KEY_RE.fullmatch,
         "PERSON": lambda v: v in FIRST or v in LAST or re.fullmatch(r"\S+ ([A-Z]\. )?\S+", v), "LOCATION": lambda v: v in CITIES + COUNTRIES + STATES + REGIONS,
         "ORGANIZATION": lambda v: v in COMPANIES + UNIS + HOSPITALS + BANKS + AGENCIES}


def check(text: str, spans: list[dict]) -> None:
    """Fail loudly on a wrong offset, overlap, invalid value, or a sensitive-looking string outside every span."""
    prev, masked = 0, text
    for s in spans:
        value = text[s["start"]:s["end"]]
        problem = ("offsets do not give the value" if value != s["value"] else "overlap or unsorted" if s["start"] < prev
                   else "empty or padded" if not value or value != value.strip() else "unknown type" if s["type"] not in TYPES
                   else "invalid value" if not VALID[s["type"]](value) else None)
        if problem:
            raise SystemExit(f"bad span ({problem}): {s} in {text!r}")
        prev, masked = s["end"], masked[:s["start"]] + "\0" * (s["end"] - s["start"]) + masked[s["end"]:]
    leak = LEAK_RE.search(masked) or SHAPE_RE.search(masked)
    leak = leak or next((m for m in re.finditer(r"\d(?:[ -]?\d){12,18}", masked) if luhn_ok(re.sub(r"\D", "", m[0]))), None)
    if leak:
        raise SystemExit(f"unlabelled sensitive-looking text {leak[0]!r} in {text!r}")


def template_coverage() -> Counter:
    cov = Counter(t for tpl in _templates(PII_TEMPLATES) for t in {LABELLED[s][0] for s in SLOT.findall(tpl) if s in LABELLED})
    short = {t: cov[t] for t in TYPES if cov[t] < 40}
    if short or any(s in LABELLED for tpl in _templates(NEG_TEMPLATES) for s in SLOT.findall(tpl)):
        raise SystemExit(f"template coverage too low {short} or a negative template has a labelled slot")
    return cov


def generate(seed: int) -> list[dict]:
    r, seen, records = random.Random(seed), set(), []
    for template, reps in [(t, PII_REPS) for t in _templates(PII_TEMPLATES)] + [(t, NEG_REPS) for t in _templates(NEG_TEMPLATES)]:
        for _ in range(reps if SLOT.search(template) else 1):
            text, spans = next((x for x in (render(template, r) for _ in range(50)) if x[0] not in seen), (None, None))
            if text is None:
                raise SystemExit(f"cannot make a new sentence from {template!r}")
            check(text, spans)
            seen.add(text)
            records.append({"text": text, "spans": [{k: s[k] for k in ("start", "end", "type")} for s in spans]})
    r.shuffle(records)
    freq, strata = Counter(t for rec in records for t in {s["type"] for s in rec["spans"]}), defaultdict(list)
    for rec in records:
        kinds = {s["type"] for s in rec["spans"]}
        strata[min(kinds, key=lambda t: (freq[t], t)) if kinds else "NONE"].append(rec)
    for group in strata.values():
        for i, rec in enumerate(group):
            rec["split"] = "dev" if i < round(len(group) * DEV_FRACTION) else "test"
    out = [{"id": i, "split": rec["split"], "text": rec["text"], "spans": rec["spans"]} for i, rec in enumerate(records)]
    for typ in TYPES:
        if {rec["split"] for rec in out if any(s["type"] == typ for s in rec["spans"])} != {"dev", "test"}:
            raise SystemExit(f"{typ} is missing from a split")
    return out


def summary(records: list[dict], cov: Counter) -> str:
    n = Counter((r["split"], bool(r["spans"])) for r in records)
    lines = [f"{len(records)} sentences: " + ", ".join(f"{sp} {n[sp, True] + n[sp, False]} ({n[sp, False]} without PII)" for sp in ("dev", "test")),
             f"{'type':<14} {'templates':>9} {'sent dev':>9} {'sent test':>9} {'spans':>6}"]
    for typ in TYPES:
        sent = Counter(r["split"] for r in records if any(s["type"] == typ for s in r["spans"]))
        lines.append(f"{typ:<14} {cov[typ]:>9} {sent['dev']:>9} {sent['test']:>9} {sum(s['type'] == typ for r in records for s in r['spans']):>6}")
    multi = sum(len({s["type"] for s in r["spans"]}) >= 2 for r in records)
    return "\n".join(lines + [f"sentences with 2+ entity types: {multi}; spans in all: {sum(len(r['spans']) for r in records)}"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pii_corpus", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "pii_sentences.jsonl", help="output JSONL (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    args = ap.parse_args(argv)
    cov, records = template_coverage(), generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records), encoding="utf-8")
    if [json.loads(line) for line in args.out.read_text(encoding="utf-8").splitlines()] != records:
        raise SystemExit(f"{args.out} does not read back as written")
    print(f"wrote {args.out}\n{summary(records, cov)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
