"""Labelled evaluation set for a PII / sensitive-data detector, generated deterministically (stdlib only).

    python -m bench.pii_corpus [--out bench/data/pii_sentences.jsonl] [--seed 7]

JSON Lines (UTF-8, non-ASCII kept), one sentence a line: {"id": 0, "split": "dev"|"test", "text": "...",
"spans": [{"start": 12, "end": 31, "type": "EMAIL_ADDRESS"}]}; a sentence with no PII has "spans": [] and "negative": true
(the field is absent elsewhere). Spans are sorted, non-overlapping, and text[start:end] (Python str indices = code points) is
exactly the value: no brackets or punctuation around it (a sentence-final period is outside), no titles ("Dr.", "Ms.", "Herr"),
cues ("password=", "IBAN", "Bearer", "mailto:"), CIDR suffixes ("/24") or ports (":8080"). The one kind of quote inside a span is a
quoted e-mail local part ('"ana diaz"@example.com': the span covers the whole address, quotes included).

Types: EMAIL_ADDRESS (public, company and internal domains such as corp.internal, payments.local, home.arpa, svc.cluster.local,
*.compute.internal, *.test; sub-domains, plus-addressing, digits, hyphens and underscores, some upper case, a few quoted local parts;
inside <...> or (...), after "mailto:", before a sentence-final period); PHONE_NUMBER (US (415) 555-0134, 415-555-0134,
415.555.0134, +1 415 555 0134; international +44 20 ..., +49 30 ...; UK national 020 ...); CREDIT_CARD (Luhn-valid Visa,
Mastercard 51-55/2221-2720, Amex 15 digits, Discover; compact, spaced or dashed); IBAN_CODE (mod-97 valid, right length, 12
countries; compact or in groups of four); US_SSN (AAA-GG-SSSS, area not 000/666/900+, group not 00, serial not 0000; dashes, some
spaces); IP_ADDRESS (IPv4 public and RFC 1918; IPv6 full or '::'-compressed); API_KEY (AKIA..., ghp_..., xoxb-/xoxp-...,
sk_live_..., sk-..., AIza..., JWTs, generic 32-40 char hex/base62 secrets after cues such as "password=", "token:", "secret");
PERSON ("First Last", "First M. Last", two given names, double-barrelled surnames, "Last, First", a lone first name or surname,
with or without a title in front; names of many languages and origins, with diacritics, particles (van der Berg, de la Cruz, bin
Ismail, al-Amin, O'Connor) and hyphens, and names that are also ordinary words or places: Hope, Will, Mark, June, Paris, Chase,
Can, Park, Young, London); LOCATION (cities, towns, neighbourhoods, countries (also in their own languages), US states, regions;
the city part of a postal address); ORGANIZATION (companies, startups with odd names, NGOs, universities, hospitals, banks,
government bodies; a place or person inside an organisation name, e.g. "University of Texas at Austin", is part of the
ORGANIZATION span).

Templates (tickets, e-mails, chat lines, logs, CSV-like rows, CRM / HR / clinical notes, meeting minutes, incidents, paper-like
text) have {SLOTS} filled from word lists and generators; names come with cues ("contact X", "patient X", "escalate to X",
"X's manager", "signed off by X", "on behalf of X", "X from <org>", "X (on-call)") and without (sentence start, lists, after a
colon). Unlabelled fillers make hard negatives inside PII sentences, and sentences with no PII at all test false positives:
ten-digit order / invoice / ticket / case / PO numbers, tracking numbers, versions and build numbers, amounts, dates, times and
quarters, durations, percentages, measurements, SKUs, part numbers, EANs, short and full git hashes, SHA-256 digests, UUIDs and
32-hex trace ids (not API keys), ports, HTTP status codes, ISO country codes, Luhn-failing 16-digit numbers, drug / gene / protein
/ product names, Title Case headings, PII cue words with no value ("update your IBAN"), and capitalised ordinary words that are
also names or places ("Will the...", "Hope this helps", "Black Friday", "Nice catch", "Java 21").
Template text names no person, place or organisation. The run fails loudly on a wrong offset, an invalid value, a value-shaped
string outside a span, or a name / place / organisation list entry outside a span unless it is inside a listed non-name phrase
(NOT_NAMES, month names next to a day or year). Splits: ~30% dev (tuned on), the rest test (reported), stratified by a
sentence's rarest type; the run fails if a type has under 100 spans in test (PERSON under 300).
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import itertools
import json
import random
import re
import string
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "API_KEY", "PERSON", "LOCATION", "ORGANIZATION")
PII_REPS, NEG_REPS, DEV_FRACTION = 3, 1, 0.3
MIN_TEST_SPANS = {**{t: 100 for t in TYPES}, "PERSON": 300}


def _bars(s: str) -> list[str]:
    return list(dict.fromkeys(w.strip() for w in s.replace("\n", " ").split("|") if w.strip()))


def _words(s: str) -> list[str]:
    return list(dict.fromkeys(s.split()))


# Given names (by origin, roughly): English/Irish/Welsh/Scottish, Spanish/Portuguese/Latin American, South Asian, East Asian romanised,
# Arabic/Persian/Turkish/Hebrew, West/East/Southern African, Southeast Asian, Slavic, Nordic, Greek, Hungarian, Romance, Polynesian.
FIRST = _words("""James Oliver Emily Hannah Thomas Sarah Michael Laura Daniel Rebecca Matthew Megan Andrew Rachel Benjamin Natalie Christopher Lucy Samuel Abigail Nathan Chloe Edward
Fiona Gregory Heather Siobhan Ciaran Aoife Declan Niamh Saoirse Oisín Eoghan Caoimhe Pádraig Dafydd Rhys Ffion Eilidh Catriona Ruaridh Thaddeus Ottoline Perpetua Ignatius Wilhelmina
Barnaby Cressida Evander Lavinia Alaric Clementine Ambrose Fenella Horatio DeShawn LaToya Keisha Darnell Jalen Aaliyah Trevon Latrice
José María Alejandro Lucía Carlos Sofía Javier Valentina Diego Camila Mateo Isabel Andrés Paula Fernando Gabriela Ricardo Ximena João Thiago Larissa Guadalupe Itzel Yolanda Luz Rocío
Joaquín Lautaro Renata Benjamín Sebastián Catalina Xiomara Agustina Facundo Marisol Yesenia Wilmer Nayeli Dayana Beatriz Inês Gonçalo Rúben
Priya Rahul Ananya Arjun Deepika Vikram Sneha Rohan Kavya Aditya Meera Siddharth Pooja Karthik Lakshmi Nikhil Divya Sanjay Senthil Kavitha Murugan Aravind Revathi Selvi Karthika
Vignesh Saravanan Tamilselvi Bharathi Ilango Arnab Sourav Rituparna Debashis Anirban Sudipta Tanvir Nusrat Farhana Rafiq Moushumi Joydeep Harpreet Gurpreet Manpreet Jaspreet Simran
Navjot Ishaan Aarav Vihaan Saanvi Pranav Shreya Tanvi Keerthi Venkat Srinivas
Wei Jing Xiaoling Hao Mei Ling Zhen Yifan Qiang Xin Ruoxi Haoran Tingting Zihan Xiaoming Jianguo Yuxuan Zhiwei Meiling Jiahui Zhihao Yiming Lingling Shu-fen Chia-hao Wen-ting
Haruto Yui Takeshi Kenji Aiko Hiroshi Naoko Yuki Kaori Daisuke Emi Sota Sakura Ren Hina Riku Mio Kazuki Ayumi Shota Natsuki Keiko Masato Yoshiko
Minjun Seoyeon Jiwoo Jisoo Hyunwoo Eunji Dohyun Sungmin Ji-woo Min-seo Jae-won Hyejin Seung-hoon Yuna
Omar Fatima Ahmed Layla Youssef Aisha Khalid Noor Hassan Mariam Tariq Samira Karim Rania Ziad Huda Bilal Amira Yusuf Mustafa Salma Nadia Rashid Hamza Zainab Abdullah Faisal Hala
Jamal Leila Walid Yasmin Rana Mahmoud Dalia Tarek Ghada Dariush Parisa Reza Mehdi Niloufar Arash Shirin Kaveh Roya Babak Mahsa Farhad Golnaz Mehmet Ayşe Emre Çağla Gökhan Şebnem
Burak Elif Ozan Deniz Selin Emine Mert Tuğba Oğuz Zeynep Barış Noa Yael Eitan Avi Tamar Yonatan Shira Ori Moshe Rivka Ariel
Chinedu Ngozi Oluwaseun Adaeze Emeka Folake Tunde Chiamaka Babajide Ifeoma Obinna Yetunde Kelechi Funmilayo Uchenna Amaka Adebola Olamide Temitope Ayodele Adeola Olufemi Damilola
Titilayo Bukola Segun Kehinde Taiwo Abiodun Morenike Oluwatobi Chukwuemeka Nnamdi Ebere Chidinma Ikenna Nkechi Onyeka Obiageli Somtochukwu Ifeanyi Ugochi Kwame Kofi Efua Abena
Yaw Akosua Kojo Ama Kwabena Adjoa Fatou Moussa Aminata Mamadou Ousmane Seydou Amani Baraka Neema Zawadi Juma Wanjiru Akinyi Imani Jabari Makena Mwajuma Salim Abebe Tigist Selam
Dawit Hiwot Yonas Meseret Kidist Tewodros Mulugeta Eyerusalem Thandiwe Sipho Nomvula Bongani Lindiwe Themba Zanele Sibusiso Nokuthula Mandla Ayanda Lwazi
Maricel Jhun Analyn Jericho Lorna Rodel Marites Jomar Rowena Ramil Jocelyn Budi Siti Agus Dewi Putri Wahyu Rizky Sri Ayu Bambang Fitri Hendra Indah Joko Somchai Nattapong Siriporn
Kanya Anong Chaiyaporn Pimchanok Thanawat Kittisak Supaporn Wanida Apinya Thanh Linh Minh Huong Tuan Phuong Duc Quang Hoa Trang Thảo Dũng Hương Khanh Ngoc
Lukas Johanna Matthias Katrin Jürgen Annika Stefan Birgit Felix Leonie Tobias Ulrike Maximilian Sabine Hans-Peter Dmitri Olga Aleksandr Katarzyna Piotr Natalia Ivan Svetlana
Tomasz Agnieszka Bogdan Irina Pavel Zofia Nikola Jelena Vesna Oksana Taras Mykola Yaroslav Milena Radek Miroslav Dragana Goran Łukasz Małgorzata Jiří Zdeněk Anastasia Sergei
Yekaterina Darya Nikolai Ludmila Branislav Snežana Đorđe Sigrid Astrid Björn Ingrid Leif Sven Freja Mikkel Oskar Liv Eero Aino Søren Åsa Ólafur Þóra Gunnar Ragnhild Kristoffer
Henrik Maja Eleni Giorgos Dimitris Katerina Yannis Nikos Vasiliki Panagiotis Athina Christos Despina Stavros Zsófia Gábor Bence Eszter Levente Réka Csaba Ildikó Dániel Katalin
Zoltán Boglárka Amélie Étienne Mathieu Chloé Jean-Pierre Marie-Claire Anne-Sophie Zoë Loïc Maëlle Gaëlle François Hélène Benoît Océane Margaux Théo Aurélie Luca Giulia Matteo
Chiara Lorenzo Francesca Alessandro Federica Niccolò Moana Sione Mele Tevita Aroha Tane Nalani Keanu Leilani Kalani Losana Manaia Hemi Wiremu""")
# Given names that are also ordinary English words, places or month names (picked more often: see first_name()).
WORD_FIRST = _words("""Hope Grace Will Bill Mark Rose Faith Jordan Paris Austin Florence Victoria Chase Hunter Summer June Dawn Sky Joy Ruby Amber April Georgia Charlotte
Sydney Adelaide Regina Orlando Iris Jade Autumn Sunny Can Salvador Santiago Sofia Bethlehem""")
LAST = _words("""Smith Johnson Williams Taylor Anderson Thompson Harris Clarke Walker Robinson Wright Mitchell Hughes Edwards Collins Stewart Bennett Foster Gallagher O'Brien Murphy
Fitzgerald Sullivan Reynolds Patterson Whitaker O'Connor O'Neill O'Sullivan O'Donnell McCarthy MacLeod McKenzie MacDonald Featherstonehaugh Cholmondeley Throckmorton
Postlethwaite Ramsbottom Higginbotham Winterbottom Oglethorpe García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Morales
Ortiz Castillo Romero Vargas Mendoza Quispe Mamani Huamán Cárdenas Villalobos Sepúlveda Aguilar Fuentes Navarro Ibarra Zapata Contreras Espinoza Valenzuela Gutiérrez
Domínguez Jiménez Salazar Rojas Chávez Herrera Medina Cortés Guerrero Acosta Peña Costa Ferreira Almeida Carvalho Sousa Ribeiro Teixeira Silva Oliveira Pereira
Sharma Patel Iyer Reddy Nair Gupta Singh Kumar Mehta Chatterjee Banerjee Desai Joshi Rao Menon Kapoor Agarwal Pillai Bhattacharya Krishnan Subramanian Ramasamy Venkatesan
Palaniappan Annamalai Natarajan Sundaram Arumugam Rajendran Muthusamy Chidambaram Srinivasan Mukherjee Ganguly Chowdhury Sengupta Dasgupta Hossain Bose Chakraborty Majumdar
Biswas Talukdar Sarkar Wang Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Zhu Hu Guo Lin Gao Luo Wong Chan Cheung Leung Ng Lau Tsang Kwok Fung Tan Lim Teo Ong Goh Chua Koh
Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki Matsumoto Inoue Kimura Yamaguchi Fujita Okada Hayashi Shimizu Mori Ikeda
Hashimoto Ishikawa Ogawa Goto Aoki Nishimura Fukuda Maeda Endo Kim Lee Choi Jung Kang Yoon Jang Han Shin Seo Kwon Hwang Ahn Jeon Hong
Nguyen Tran Pham Nguyễn Trần Lê Phạm Hoàng Vũ Đặng Bùi Đỗ Ngô Dương Phan Truong Al-Sayed Haddad Khoury Mansour Nasser Saleh Farouk Hamdan Aziz Qureshi Rahman Hussein Abboud
Darwish Kassem Barakat Abdelrahman Suleiman Khalil Jaber Othman Zaki Nassar Tahir Shaikh Hamdi Abdallah Al-Qahtani Al-Hashimi Al-Mansoori al-Farsi al-Rashid El-Amin
Farhadi Tehrani Hosseini Moradi Rostami Karimi Ahmadi Jafari Rahimi Sadeghi Mohammadi Shirazi Esfahani Kazemi Yilmaz Kaya Demir Öztürk Şahin Çelik Yıldız Aydın Arslan Doğan
Koç Polat Erdem Güneş Aksoy Cohen Levi Mizrahi Friedman Peretz Biton Avraham Katz Shapiro Ben-David Dahan Azoulay Rosenberg Goldberg
Okafor Adeyemi Okonkwo Eze Balogun Nwosu Adebayo Obi Chukwu Ogunleye Afolabi Onyekachi Uzoma Adewale Ibrahim Bello Oyelaran Adesanya Ogundipe Oyebanji Akinwande Olatunji
Adeleke Fashola Oyewole Ogunbiyi Akindele Babatunde Nwachukwu Okeke Anyanwu Obiora Nnaji Okoro Ezeani Igwe Onwuachi Chukwuma Mbah Ugwu Otieno Kamau Wanjiku Mwangi Odhiambo
Kariuki Njoroge Achieng Mutua Onyango Wambui Kipchoge Hamisi Bekele Tesfaye Haile Girma Alemu Mengistu Wolde Gebremedhin Tadesse Kebede Desta Ayele Dlamini Ndlovu Zulu
Mkhize Khumalo Nkosi Mthembu Buthelezi Ngcobo Shabalala Mahlangu Cele Mensah Boateng Asante Owusu Appiah Agyeman Ofori Amoah Diallo Traoré Keita Ndiaye Diop Coulibaly Touré
Camara Santos Reyes Bautista Villanueva Macapagal Aquino Ramos Soriano Manalo Dimaculangan Pangilinan Tolentino Kurniawan Wijaya Santoso Hartono Setiawan Susanto Pratama
Nugroho Saputra Hidayat Wibowo Halim Srisuk Wongsakul Chaiyasit Rattanakorn Saetang Thongchai Suwannarat Boonmee Charoenkul Phromma
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz Koch Richter Klein Schröder Neumann Zimmermann Braun Krüger Hartmann Gruber Huber Bauer Moser Keller
Frei Janssen Peeters Claes Maes Ivanov Petrov Kowalski Nowak Wiśniewski Novák Horvat Kovačević Smirnova Volkov Sokolov Jovanović Dvořák Lewandowski Kuznetsov Zielińska
Shevchenko Bondarenko Kovalenko Melnyk Popović Nikolić Petrović Novotná Svoboda Dvořáková Wójcik Kamiński Zając Szymański Kozlov Morozov Popescu Ionescu Georgescu Dimitrov
Stoyanov Hristova Babić Marković Kovalchuk Tkachenko Wróblewska Krawczyk Mazur Andersson Johansson Nielsen Virtanen Dahl Halvorsen Lindqvist Berg Eriksson Solberg Haugen
Korhonen Mäkinen Jónsdóttir Sigurðsson Pedersen Kristiansen Lindström Sjöberg Bergström Nyström Hansen Jørgensen Løkke Laine Heikkinen Rasmussen Papadopoulos Georgiou
Konstantinou Nikolaidis Papadakis Vlachos Karagiannis Oikonomou Dimitriou Alexiou Christodoulou Makris Nagy Tóth Szabó Kovács Horváth Varga Molnár Németh Farkas Balogh Papp
Rossi Bianchi Romano Esposito Ricci Marino Greco Colombo Dubois Lefèvre Moreau Laurent Fontaine Leroy Girard Bonnet Mercier Rousseau Blanc Tupou Fifita Taufa Ngata Parata
Tuilagi Faleolo Kahale Kealoha Tahiwi Mahuika Tuiasosopo Aumua""")
# Surnames that are also ordinary English words or places.
WORD_LAST = _words("Hunter Chase Baker Cook Mason Fisher Young King Long Stone Wood Brown Green White Black Hill Bird Marsh Park London Lincoln Washington Hamilton Houston Jordan")
# Surnames with particles, hyphenated surnames.
PARTICLE_LAST = _bars("""van der Berg|van Dijk|de Vries|de Jong|van den Broek|de la Cruz|de la Fuente|del Río|da Silva|dos Santos|von Bülow|Le Roux|Le Gall|di Stefano|De Luca|
bin Abdullah|binti Yusof|bin Ismail|al-Amin|Ó Briain|Mac Giolla|Dela Cruz|ter Horst|Smith-Jones|García-Márquez|Müller-Lüdenscheidt|Okafor-Williams|Bianchi-Rossi|Nakamura-Lee|
Martín-Gómez|Lloyd-Davies|Fernández-Ortega|Hall-Patel|Kowalska-Nowak""")
FIRST, LAST = FIRST + [w for w in WORD_FIRST if w not in FIRST], LAST + [w for w in WORD_LAST + PARTICLE_LAST if w not in LAST]
TITLES = _words("Dr. Dr Mr. Mrs. Ms. Mx. Prof. Sr. Sra. Herr Frau Mme")
CITIES = _bars("""Toronto|Berlin|Munich|Lagos|Nairobi|Mumbai|Bengaluru|Chennai|Delhi|Shanghai|Beijing|Shenzhen|Tokyo|Osaka|Seoul|Singapore|Dubai|Riyadh|Cairo|Istanbul|Madrid|Barcelona|Lisbon|
Porto|Paris|Lyon|Marseille|Amsterdam|Rotterdam|Brussels|Antwerp|Zurich|Geneva|Vienna|Prague|Warsaw|Kraków|Budapest|Bucharest|Athens|Rome|Milan|Naples|Dublin|Edinburgh|Manchester|
Leeds|Glasgow|London|Oslo|Stockholm|Copenhagen|Helsinki|New York|Los Angeles|Chicago|Houston|San Francisco|Seattle|Boston|Denver|Atlanta|Miami|Pittsburgh|Minneapolis|Vancouver|
Montreal|Calgary|Mexico City|São Paulo|Buenos Aires|Bogotá|Lima|Johannesburg|Cape Town|Accra|Addis Ababa|Casablanca|Melbourne|Auckland|Jakarta|Manila|Hanoi|Bangkok|Kuala Lumpur|
Karachi|Dhaka|Kyiv|Tbilisi|Reykjavík|Austin|Florence|Sydney|Adelaide|Santiago|Sofia|Charlotte|Orlando|Victoria|Ho Chi Minh City|Hong Kong|Tel Aviv|Beirut|Amman|Doha|Jeddah|
Isfahan|Shiraz|Lahore|Kathmandu|Colombo|Cebu|Surabaya|Bandung|Chiang Mai|Đà Nẵng|Busan|Sapporo|Fukuoka|Nagoya|Kaohsiung|Chengdu|Hangzhou|Wuhan|Xi'an|Almaty|Tashkent|Ibadan|
Abuja|Kumasi|Mombasa|Kisumu|Dar es Salaam|Kampala|Kigali|Durban|Lusaka|Harare|Dakar|Abidjan|Marrakech|Tunis|Alexandria|Khartoum|Halifax|Winnipeg|Québec City|Medellín|Quito|
Montevideo|La Paz|Guadalajara|Monterrey|Recife|Salvador|Curitiba|Porto Alegre|Havana|Kingston|Wellington|Christchurch|Perth|Brisbane|Honolulu|Anchorage|Thessaloniki|İzmir|
Gdańsk|Wrocław|Łódź|Brno|Ljubljana|Zagreb|Belgrade|Tallinn|Riga|Vilnius|Malmö|Göteborg|Bergen|Aarhus|Tampere""")
TOWNS = _bars("""Swindon|Reading|Bath|Harrogate|Inverness|Galway|Kilkenny|Ghent|Leuven|Utrecht|Haarlem|Delft|Eindhoven|Freiburg|Heidelberg|Göttingen|Tübingen|Mönchengladbach|Würzburg|
Linz|Graz|Innsbruck|Lugano|Nice|Besançon|Montpellier|Grenoble|Rennes|Split|Zadar|Maribor|Plzeň|Olomouc|Toruń|Brașov|Cluj-Napoca|Timișoara|Košice|Debrecen|Pécs|Székesfehérvár|
Tartu|Kaunas|Oulu|Jyväskylä|Tromsø|Stavanger|Umeå|Odense|Aalborg|Akureyri|Coimbra|Braga|Faro|Córdoba|A Coruña|Valladolid|San Sebastián|Cagliari|Trieste|Heraklion|Eskişehir|
Gaziantep|Haifa|Beersheba|Muscat|Kandy|Jaffna|Coimbatore|Madurai|Mysuru|Kochi|Thiruvananthapuram|Guwahati|Sylhet|Pokhara|Iloilo|Davao|Yogyakarta|Khon Kaen|Hat Yai|Huế|Cần Thơ|
Ipoh|Daegu|Sendai|Tainan|Kunming|Enugu|Port Harcourt|Tamale|Nakuru|Eldoret|Arusha|Gulu|Bahir Dar|Gondar|Pietermaritzburg|Gqeberha|Bloemfontein|Windhoek|Bulawayo|Bamako|Fès|Sfax|
Luxor|Saskatoon|Regina|Kelowna|Trois-Rivières|Boise|Spokane|Tucson|Albuquerque|Omaha|Des Moines|Ann Arbor|Akron|Dayton|Mobile|Savannah|Asheville|Burlington|Hilo|Hamilton|Lincoln|
Dunedin|Rotorua|Suva|Apia|Cairns|Hobart|Valparaíso|Cusco|Arequipa|Cuenca|Cochabamba|Rosario|Mendoza|Oaxaca|Mérida|Florianópolis|Manaus""")
NEIGHBOURHOODS = _bars("""Kreuzberg|Neukölln|Shoreditch|Brixton|Peckham|Brooklyn|Harlem|Le Marais|Montmartre|Belleville|Shibuya|Shimokitazawa|Koramangala|Indiranagar|Bandra|Andheri|Gangnam|
Itaewon|Vila Madalena|Miraflores|Yaba|Ikeja|Lekki|Kilimani|Westlands|Sandton|Soweto|Trastevere|Gràcia|Malasaña|Jordaan|De Pijp|Södermalm|Vesterbro|Nørrebro|Kallio|Žižkov|
Kazimierz|Kadıköy|Beyoğlu|Zamalek|Jumeirah|Kowloon|Mong Kok|Palermo Soho|Recoleta|Coyoacán|Roma Norte|Mitte|Schwabing|Ehrenfeld|Vila Olímpia""")
COUNTRIES = _bars("""Germany|France|Spain|Italy|Belgium|Switzerland|Austria|Poland|Ireland|Sweden|Norway|Denmark|Finland|Portugal|Greece|Canada|Mexico|Brazil|Argentina|Colombia|Chile|Peru|
Nigeria|Kenya|Ghana|Egypt|Morocco|South Africa|Ethiopia|India|Pakistan|Bangladesh|China|Japan|South Korea|Vietnam|Indonesia|Australia|New Zealand|Turkey|Saudi Arabia|Qatar|Ukraine|
Romania|Hungary|USA|UK|UAE|Jordan|Georgia|Lebanon|Iran|Israel|Oman|Kuwait|Tunisia|Algeria|Senegal|Mali|Côte d'Ivoire|Cameroon|Uganda|Tanzania|Rwanda|Zambia|Zimbabwe|Namibia|
Botswana|Mozambique|Sri Lanka|Nepal|Myanmar|Thailand|Cambodia|Laos|Malaysia|Philippines|Taiwan|Mongolia|Kazakhstan|Uzbekistan|Azerbaijan|Armenia|Serbia|Croatia|Slovenia|
Slovakia|Czechia|Bulgaria|Lithuania|Latvia|Estonia|Iceland|Luxembourg|Netherlands|Cyprus|Malta|Albania|North Macedonia|Bosnia and Herzegovina|Moldova|Venezuela|Ecuador|Bolivia|
Paraguay|Uruguay|Guatemala|Honduras|Costa Rica|Panama|Jamaica|Dominican Republic|Fiji|Samoa|Tonga|Papua New Guinea|Türkiye|Deutschland|España|Österreich|Polska|Italia|
Nederland|Schweiz|Česko|Magyarország|Brasil|México|Sverige|Norge|Danmark|Suomi|Éire""")
STATES = _bars("""California|Texas|Florida|Illinois|Ohio|Oregon|Colorado|Arizona|Nevada|Massachusetts|Michigan|Minnesota|North Carolina|Pennsylvania|New Jersey|Utah|Tennessee|Wisconsin|
Maryland|Missouri|Iowa|Kansas|Louisiana|Kentucky|Alabama|Idaho|Montana|Vermont|Maine|Connecticut|Georgia|Washington|Virginia|New Mexico|Nebraska|Oklahoma|Hawaii|Alaska|Delaware""")
REGIONS = _bars("""Bavaria|Catalonia|Lombardy|Tuscany|Scandinavia|Patagonia|Siberia|Andalusia|Provence|Flanders|Wallonia|Ontario|Quebec|British Columbia|Punjab|Kerala|Tamil Nadu|
Maharashtra|Guangdong|Hokkaido|Kyushu|Yorkshire|Wales|Silicon Valley|New England|Scotland|Normandy|Brittany|Alsace|Saxony|North Rhine-Westphalia|Baden-Württemberg|Emilia-Romagna|
Sicily|Sardinia|Galicia|Basque Country|Silesia|Transylvania|Moravia|Lapland|Jutland|Cornwall|Cotswolds|Île-de-France|Lazio|Veneto|Algarve|Alentejo|Anatolia|Rift Valley|
Western Cape|KwaZulu-Natal|Gauteng|Lagos State|Oromia|Tigray|West Bengal|Karnataka|Telangana|Gujarat|Rajasthan|Sindh|Bali|Java|Sumatra|Mindanao|Luzon|Visayas|Isan|Mekong Delta|
Kansai|Okinawa|Jeju|Gyeonggi|Sichuan|Yunnan|Yucatán|Chiapas|Minas Gerais|Bahia|Antioquia|Nunavut|Yukon|Alberta|Nova Scotia|Queensland|Tasmania|Northland|Otago|Bay Area|
Pacific Northwest|Balkans|Baltics|Sahel|Maghreb|Horn of Africa|Levant|Caucasus""")
COMPANIES = _bars("""Acme Logistics|Northwind Traders|Globex Corporation|Helix Biotech|Bluefin Analytics|Orion Freight|Crestline Insurance|Pinebrook Dental|Meridian Health Partners|
Lumen Robotics|Harbor & Vale LLP|Kestrel Aerospace|Sable Systems|Quantis Labs|Redwood Capital|Aster Pharma|Brightwave Media|Cobalt Energy|Granite Peak Software|Ironclad Security|
Tidewater Foods|Initech|Hooli|Vandelay Industries|Umbrella Health|Contoso|Fabrikam|Tailspin Toys|Litware|Adventure Works|Proseware|Siemens|Infosys|Tata Consultancy Services|
Deutsche Telekom|Unilever|Nestlé|Samsung Electronics|Toyota|Accenture|Shopify|Maersk|Vodafone|Safaricom|Dangote Group|Alibaba|Reliance Industries|Airbus|Philips|Ericsson|Atlassian|
Spotify|Rakuten|Mercari|Kakao|Coupang|Tencent|ByteDance|Xiaomi|Huawei|Aramco|Emirates|Qatar Airways|Turkcell|Trendyol|Teva Pharmaceutical|Novo Nordisk|Equinor|Nokia|Supercell|IKEA|
Volvo Cars|Skanska|H&M|LEGO Group|Carlsberg|Ørsted|Vestas|Danone|L'Oréal|Allianz|Munich Re|SAP|Bosch|Zeiss|BASF|Bayer|Henkel|Roche|Novartis|Swisscom|Logitech|Ferrero|Enel|Pirelli|
Inditex|Telefónica|Iberdrola|Mercadona|Jerónimo Martins|Ryanair|Kerry Group|Diageo|Tesco|Sainsbury's|Ocado|Rolls-Royce|BT Group|Arm Holdings|Petrobras|Embraer|Grupo Bimbo|Cemex|
América Móvil|Falabella|Ecopetrol|Shoprite|MTN Group|Naspers|Ethio Telecom|Ethiopian Airlines|Interswitch|Tata Steel|Wipro|Mahindra & Mahindra|Zoho|Freshworks|Flipkart""")
STARTUPS = _bars("""Zalando|Klarna|Xero|Canva|Notion Labs|Wise|Bolt|Adyen|Mollie|Personio|Celonis|Deliveroo|Rappi|Gojek|Grab|Paystack|Flutterwave|Jumia|Andela|Mercado Libre|Razorpay|
Zomato|Swiggy|Tokopedia|Xendit|Kredivo|Carousell|Shopee|Traveloka|Meesho|Zerodha|PhonePe|Qonto|Pleo|Vinted|Doctolib|Alan|Mistral AI|Aleph Alpha|DeepL|Hugging Face|Cohere|Tide|
Cleo|Snyk|Sorare|Oatly|Northvolt|Einride|Tibber|Moniepoint|Chipper Cash|Twiga Foods|M-KOPA|Getir|Wix|Monday.com|Figma|Miro""")
NGOS = _bars("""Oxfam|Save the Children|Amnesty International|International Committee of the Red Cross|BRAC|Wikimedia Foundation|Greenpeace|Doctors Without Borders|Habitat for Humanity|
CARE International|Mercy Corps|Plan International|Islamic Relief Worldwide|World Wildlife Fund|Bill & Melinda Gates Foundation|Wellcome Trust|Rockefeller Foundation|Aga Khan Foundation|
Gavi|Partners In Health|Kiva|GiveDirectly|Room to Read|Ashoka|Welthungerhilfe|Caritas Internationalis|Médecins du Monde|Norwegian Refugee Council|International Rescue Committee|
Human Rights Watch|Transparency International""")
UNIS = _bars("""University of Toronto|Stanford University|ETH Zurich|University of Lagos|Tsinghua University|University of Tokyo|Imperial College London|Indian Institute of Science|
Technical University of Munich|Sorbonne University|University of Cape Town|McGill University|KU Leuven|University of Melbourne|Seoul National University|American University of Beirut|
University of Nairobi|Jagiellonian University|Universidad de Buenos Aires|Massachusetts Institute of Technology|Universidade de São Paulo|Universität Wien|Uniwersytet Warszawski|
Makerere University|Chulalongkorn University|Universitas Indonesia|National University of Singapore|Peking University|Kyoto University|KAIST|IIT Bombay|University of Ibadan|
Addis Ababa University|Cairo University|Tel Aviv University|Boğaziçi University|Universidad Nacional Autónoma de México|Pontificia Universidad Católica de Chile|Aalto University|
Uppsala University|University of Auckland|Trinity College Dublin|University of Ghana|University of the Witwatersrand|Stellenbosch University|Université Cheikh Anta Diop|
Université de Montréal|Universidad de los Andes|Universität Heidelberg|Humboldt-Universität zu Berlin|Sciences Po|École Polytechnique|Politecnico di Milano|
Sapienza University of Rome|Universidad Complutense de Madrid|University of Copenhagen|University of Helsinki|Charles University|Eötvös Loránd University|
National and Kapodistrian University of Athens|Taras Shevchenko National University of Kyiv|Middle East Technical University|Sharif University of Technology|King Saud University|
Hebrew University of Jerusalem|Technion|Lahore University of Management Sciences|University of Dhaka|Tribhuvan University|Anna University|Jadavpur University|
Ateneo de Manila University|Universiti Malaya|Gadjah Mada University|Mahidol University|Fudan University|Yonsei University|National Taiwan University|University of Hong Kong|
Australian National University|Monash University|Victoria University of Wellington|University of the South Pacific|University of British Columbia|Howard University|Spelman College|
Georgia Institute of Technology|University of Texas at Austin|Carnegie Mellon University""")
HOSPITALS = _bars("""Mayo Clinic|Cleveland Clinic|Johns Hopkins Hospital|Charité|Massachusetts General Hospital|Great Ormond Street Hospital|Apollo Hospitals|Aga Khan University Hospital|
Karolinska University Hospital|Toronto General Hospital|St Vincent's Hospital|Lagos University Teaching Hospital|Mount Sinai Hospital|Hospital Clínic de Barcelona|Groote Schuur Hospital|
Chris Hani Baragwanath Hospital|Kenyatta National Hospital|Korle Bu Teaching Hospital|Muhimbili National Hospital|Tikur Anbessa Specialized Hospital|
All India Institute of Medical Sciences|Christian Medical College Vellore|Tata Memorial Hospital|Narayana Health|Siriraj Hospital|Bumrungrad International Hospital|
Singapore General Hospital|Philippine General Hospital|Cipto Mangunkusumo Hospital|Bạch Mai Hospital|Asan Medical Center|Peking Union Medical College Hospital|Queen Mary Hospital|
Hadassah Medical Center|Sheba Medical Center|King Faisal Specialist Hospital|Hôpital Necker|Hôpital de la Pitié-Salpêtrière|Hospital Universitario La Paz|Policlinico Gemelli|
Rigshospitalet|Oslo University Hospital|Universitätsspital Zürich|Hospital Israelita Albert Einstein|Hospital Italiano de Buenos Aires|Royal Melbourne Hospital|Auckland City Hospital|
St Thomas' Hospital|Addenbrooke's Hospital|Royal Infirmary of Edinburgh|Beaumont Hospital|Sunnybrook Health Sciences Centre|Kaiser Permanente|NYU Langone Health|
Cedars-Sinai Medical Center|Boston Children's Hospital|MD Anderson Cancer Center""")
BANKS = _bars("""Deutsche Bank|Barclays|HSBC|BNP Paribas|Santander|ING|Rabobank|UBS|Intesa Sanpaolo|KBC Bank|Bank of America|Wells Fargo|ICICI Bank|First Bank of Nigeria|Standard Chartered|
Monzo|Revolut|Commerzbank|JPMorgan Chase|Citibank|Goldman Sachs|Société Générale|Crédit Agricole|Nordea|Danske Bank|Handelsbanken|Swedbank|OTP Bank|PKO Bank Polski|Raiffeisen Bank|
Erste Group|Banco do Brasil|Itaú Unibanco|Bradesco|Banorte|BBVA|CaixaBank|Banco Sabadell|Bankinter|Equity Bank|KCB Bank|Ecobank|Access Bank|Zenith Bank|Absa|Nedbank|Standard Bank|
Emirates NBD|Al Rajhi Bank|Bank Hapoalim|Bank Leumi|HDFC Bank|State Bank of India|Axis Bank|Kotak Mahindra Bank|BDO Unibank|Maybank|DBS Bank|OCBC|Bangkok Bank|Kasikornbank|
Vietcombank|Bank Mandiri|Bank Central Asia|MUFG|Mizuho|Shinhan Bank|KB Kookmin Bank|ICBC|Bank of China|Westpac|Commonwealth Bank|Kiwibank|Royal Bank of Canada|Scotiabank|
Desjardins|Capital One|Chime|N26|Bunq|Starling Bank|Nubank|Kuda|Grameen Bank|Woodgrove Bank""")
AGENCIES = _bars("""Internal Revenue Service|Social Security Administration|HM Revenue & Customs|World Health Organization|European Medicines Agency|Food and Drug Administration|
National Health Service|Federal Trade Commission|UNICEF|Médecins Sans Frontières|Environmental Protection Agency|National Institutes of Health|European Research Council|
Bundesamt für Sicherheit in der Informationstechnik|CNIL|Information Commissioner's Office|Reserve Bank of India|Bundesagentur für Arbeit|Kenya Revenue Authority|
Agência Nacional de Vigilância Sanitária|Australian Taxation Office|Canada Revenue Agency|Monetary Authority of Singapore|Securities and Exchange Commission|Financial Conduct Authority|
BaFin|European Data Protection Board|Centers for Disease Control and Prevention|Cybersecurity and Infrastructure Security Agency|National Cyber Security Centre|
Agencia Española de Protección de Datos|Garante per la protezione dei dati personali|Datatilsynet|Autoriteit Persoonsgegevens|Central Bank of Nigeria|South African Revenue Service|
Ghana Health Service|Unique Identification Authority of India|Bangladesh Bank|Bangko Sentral ng Pilipinas|Bank of Thailand|Personal Information Protection Commission|
Cyberspace Administration of China|Saudi Data and AI Authority|Israel National Cyber Directorate|Servicio de Administración Tributaria|Receita Federal|European Central Bank|
International Monetary Fund|World Bank|African Union|ASEAN Secretariat|United Nations High Commissioner for Refugees|World Food Programme""")
PUBLIC_MAIL = _words("""gmail.com outlook.com hotmail.com yahoo.co.uk web.de gmx.de gmx.at orange.fr proton.me hotmail.es libero.it icloud.com rediffmail.com qq.com naver.com yandex.ru
mail.ru seznam.cz wp.pl yahoo.co.jp aol.com bluewin.ch telenet.be""")
COMPANY_MAIL = _words("""acme-logistics.com mail.northwind.io eu.helixbio.com cs.utoronto.ca student.unimelb.edu.au charite.de stanford.edu bluefin-analytics.co.uk corp.sablesystems.net
mx.orionfreight.com campus.lmu.de kestrel-aero.fr ug.edu.gh mail.kyoto-u.ac.jp infosys.co.in redwoodcap.com.au contoso.com fabrikam.onmicrosoft.com initech.io hooli.xyz
klarna.com zalando.de xero.co.nz uonbi.ac.ke makerere.ac.ug chula.ac.th""")
INTERNAL_MAIL = _words("corp.internal payments.local acme.corp intranet lan corp internal home.arpa svc.cluster.local eu-west-1.compute.internal mail.acme.test")
MAIL_SUBDOMAINS = _words("hr finance build01 ops eng northwind billing monitoring dev staging nas printers it legal")
INTL_PHONES = """+44 20 #### ####|+44 161 ### ####|+44 7### ######|020 7### ####|+49 30 ######|+49 89 #######|+49 151 ########|+33 1 ## ## ## ##|+33 6 ## ## ## ##|+34 91 ### ## ##|
+34 6## ### ###|+39 06 #### ####|+39 3## ### ####|+31 20 ### ####|+41 44 ### ## ##|+81 3-####-####|+81 90-####-####|+91 9#### #####|+86 10 #### ####|+86 13# #### ####|+61 2 #### ####|
+61 4## ### ###|+234 803 ### ####|+971 4 ### ####|+55 11 9####-####|+52 55 #### ####|+27 21 ### ####|+353 1 ### ####|+48 22 ### ## ##|+254 7## ######"""
ROLES = _words("support billing hr-team no-reply payroll it-helpdesk careers accounts security finance ops-alerts svc_backup data_team dpo")
MAIL_TAGS = _words("billing news jobs invoices github test2 ops")
PRODUCTS = _words("Kubernetes PostgreSQL Redis Jira Grafana Terraform Nginx Kafka Elasticsearch Airflow Excel Prometheus Docker Ansible Helm Istio Envoy Tableau SharePoint Confluence")
PROTEINS = _words("p53 BRCA1 EGFR KRAS HER2 TNF-α IL-6 GAPDH mTOR VEGF-A CD4 PD-L1 Cas9 ACE2 HIF-1α")
GENES = _words("TP53 BRCA2 MYC CFTR APOE HLA-B27 PTEN ALK BRAF IDH1 JAK2 NOTCH1 SMAD4 TTN DMD")
DRUGS = _words("Metformin Atorvastatin Amoxicillin Ibuprofen Lisinopril Omeprazole Levothyroxine Sertraline Warfarin Apixaban Keytruda Humira Ozempic Paxlovid Dupixent Salbutamol")
CELLS = _words("HeLa HEK293T MCF-7 A549 Jurkat U2OS HepG2 SH-SY5Y CHO-K1 K562")
HEADINGS = _bars("""Quarterly Revenue Review|Incident Postmortem|Action Items|Release Notes|Data Retention Policy|Annual Leave Request|Vendor Onboarding Checklist|Board Meeting Minutes|
Root Cause Analysis|Customer Success Playbook|Security Awareness Training|Disaster Recovery Plan|Open Questions|Key Results|Capacity Planning|Risk Register|Architecture Decision Record""")
ISO2 = _words("DE FR BR IN NG KE MX JP ZA AR PL SE NO ID PH TH VN EG TR CA")
MONTHS = _words("January February March April May June July August September October November December")
WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday")
ALNUM, HEX, UPPER = string.ascii_letters + string.digits, "0123456789abcdef", string.ascii_uppercase
US_AREAS = _words("212 213 206 214 303 305 312 404 415 503 512 602 617 646 702 713 720 773 818 917 919 470 669")
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
    return r.choice(["", "", " ", " ", "-"] if valid else ["", " "]).join(num[a:b] for a, b in itertools.pairwise(cuts))


def iban(r: random.Random) -> str:
    cc, pools = r.choice(list(IBAN_SPEC)), {"n": string.digits, "a": UPPER, "c": string.digits * 3 + UPPER}
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


def first_name(r: random.Random) -> str:
    return r.choice(WORD_FIRST) if r.random() < 0.15 else r.choice(FIRST)


def last_name(r: random.Random) -> str:
    k = r.random()
    return r.choice(WORD_LAST) if k < 0.1 else r.choice(PARTICLE_LAST) if k < 0.2 else r.choice(LAST)


def person(r: random.Random) -> str:
    """'First Last' mostly; also 'First M. Last', two given names, and a double-barrelled surname."""
    f, last, k = first_name(r), last_name(r), r.random()
    if k < 0.12:
        return f"{f} {r.choice(UPPER)}. {last}"
    if k < 0.16:
        return f"{f} {first_name(r)} {last}"
    if k < 0.2 and last.isalpha() and (other := r.choice(LAST)).isalpha():
        return f"{f} {last}-{other}"
    return f"{f} {last}"


def person_last_first(r: random.Random) -> str:
    return f"{last_name(r)}, {first_name(r)}"


FOLD = str.maketrans({"ß": "ss", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "Þ": "Th", "þ": "th", "Æ": "Ae", "æ": "ae", "Ł": "L", "ł": "l", "ð": "d", "ı": "i"})


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", unicodedata.normalize("NFKD", name.translate(FOLD)).encode("ascii", "ignore").decode().lower()).strip("-")


def mail_domain(r: random.Random) -> str:
    k = r.random()
    if k < 0.35:
        return r.choice(PUBLIC_MAIL)
    if k < 0.6:
        return r.choice(COMPANY_MAIL)
    suffix = r.choice(INTERNAL_MAIL)  # a suffix that is no public TLD: single-label ones always get a host or team in front
    return f"{r.choice(MAIL_SUBDOMAINS)}.{suffix}" if "." not in suffix or r.random() < 0.3 else suffix


def email(r: random.Random) -> str:
    """Local part from an ASCII-folded name, a role account or a handle; public, company and internal domains."""
    f, last, n, k = _ascii(first_name(r)), _ascii(last_name(r)), r.randint(1, 99), r.random()
    if k < 0.04:  # a quoted local part with a space; the span covers the quotes
        return f'"{f} {last}"@{r.choice(PUBLIC_MAIL + COMPANY_MAIL)}'
    local = r.choice([f"{f}.{last}", f"{f[0]}{last}", f"{f}_{last}", f"{f}-{last}", f"{f}.{last}+{r.choice(MAIL_TAGS)}", f"{f}{n}", f"{last}.{f}", f,
                      r.choice(ROLES), f"{last}{f[0]}{r.randint(70, 99)}", f"{f[0]}.{last}{n}", f"{r.choice(ROLES)}+{r.choice(MAIL_TAGS)}"])
    if k < 0.16:
        local = ".".join(p[:1].upper() + p[1:] for p in local.split("."))
    address = f"{local}@{mail_domain(r)}"
    return address.upper() if k > 0.97 else address


def jwt(r: random.Random) -> str:
    iat, alg = r.randint(1_650_000_000, 1_760_000_000), r.choice(["HS256", "HS512"])
    claims = {"sub": str(r.randint(10**5, 10**9)), "iat": iat, "exp": iat + 3600, "scope": r.choice(["read", "admin", "billing"])}
    parts = [json.dumps(x, separators=(",", ":")).encode() for x in ({"alg": alg, "typ": "JWT"}, claims)]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts + [r.randbytes(32 if alg == "HS256" else 64)])


def _pick(seq: list[str]):
    return lambda r: r.choice(seq)


KEYS = {"AKIA": lambda r: "AKIA" + _rand(r, UPPER + string.digits, 16), "GHP": lambda r: "ghp_" + _rand(r, ALNUM, 36),
        "XOX": lambda r: f"xox{r.choice('bp')}-{_rand(r, string.digits, r.randint(10, 13))}-{_rand(r, string.digits, r.randint(10, 13))}-{_rand(r, ALNUM, 24)}",
        "STRIPE": lambda r: "sk_live_" + _rand(r, ALNUM, 24), "OAI": lambda r: "sk-" + _rand(r, ALNUM, r.randint(40, 51)),
        "GKEY": lambda r: "AIza" + _rand(r, ALNUM + "-_", 35), "JWT": jwt,
        "SECRET": lambda r: _rand(r, HEX, r.choice([32, 40])) if r.random() < 0.5 else _rand(r, ALNUM, r.randint(32, 40))}
KEYS["KEY"] = lambda r: KEYS[r.choice(["AKIA", "GHP", "XOX", "STRIPE", "OAI", "GKEY"])](r)
PER, LOC, ORG = "PERSON", "LOCATION", "ORGANIZATION"
LABELLED = {"EMAIL": ("EMAIL_ADDRESS", email), "PHONE": ("PHONE_NUMBER", phone), "CARD": ("CREDIT_CARD", card), "IBAN": ("IBAN_CODE", iban),
            "SSN": ("US_SSN", ssn), "IP": ("IP_ADDRESS", lambda r: ipv6(r) if r.random() < 0.2 else ipv4(r)), "IP4": ("IP_ADDRESS", ipv4),
            "IP6": ("IP_ADDRESS", ipv6), **{k: ("API_KEY", f) for k, f in KEYS.items()},
            "NAME": (PER, person), "NAMELF": (PER, person_last_first), "FIRST": (PER, first_name), "LAST": (PER, last_name),
            "LOC": (LOC, _pick(CITIES * 2 + TOWNS + NEIGHBOURHOODS + COUNTRIES + STATES + REGIONS)), "CITY": (LOC, _pick(CITIES)),
            "TOWN": (LOC, _pick(TOWNS)), "NEIGH": (LOC, _pick(NEIGHBOURHOODS)), "COUNTRY": (LOC, _pick(COUNTRIES)), "STATE": (LOC, _pick(STATES)),
            "REGION": (LOC, _pick(REGIONS)), "ORG": (ORG, _pick(COMPANIES)), "STARTUP": (ORG, _pick(STARTUPS)), "NGO": (ORG, _pick(NGOS)),
            "UNI": (ORG, _pick(UNIS)), "HOSP": (ORG, _pick(HOSPITALS)), "BANK": (ORG, _pick(BANKS)), "AGENCY": (ORG, _pick(AGENCIES))}


def _date(r: random.Random) -> str:
    y, m, d = r.choice([2023, 2024, 2025]), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{MONTHS[m - 1]} {d}", f"{d} {MONTHS[m - 1][:3]} {y}", f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", WEEKDAYS[d % 5]])


def _date2(r: random.Random) -> str:  # formats a detector may mistake for an ID or a phone number
    y, m, d = r.choice([2025, 2026, 2027]), r.randint(1, 12), r.randint(13, 28)
    return r.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}.{d:02d}.{y}", f"{d:02d}.{m:02d}.{y}", f"Q{(m - 1) // 3 + 1} FY{y}",
                     f"{y}{m:02d}{d:02d}", f"{d} {MONTHS[m - 1]} {y}", f"W{r.randint(1, 52):02d} {y}", f"H{r.randint(1, 2)} {y}"])


def _time2(r: random.Random) -> str:
    h, mi, s = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
    return r.choice([f"{h:02d}:{mi:02d}:{s:02d}Z", f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}.{r.randint(0, 999):03d}", f"{h % 12 + 1}:{mi:02d} {r.choice(['am', 'pm'])}"])


def _price(r: random.Random) -> str:
    v = r.randint(5, 250000) / r.choice([1, 100])
    return r.choice([f"${v:,.2f}", f"€{v:,.2f}", f"£{v:.2f}", f"USD {int(v):,}", f"{v:.2f} EUR"])


def _amount(r: random.Random) -> str:
    v, c = r.randint(100, 999999), r.randint(0, 99)
    return r.choice([f"${v:,}.{c:02d}", f"EUR {v // 100:,}".replace(",", " "), f"{r.randint(1, 99)}.{r.randint(1, 9)}k", f"¥{v}", f"₹{r.randint(1, 99)},{c:02d},{v % 1000:03d}",
                     f"CHF {v // 100:,}.{c:02d}".replace(",", "'"), f"R$ {v // 100:,},{c:02d}".replace(",", ".", 1), f"-€{v // 100}.{c:02d}", f"£{v // 10:,}", f"{v / 1000:.1f}M"])


def _duration(r: random.Random) -> str:
    h, m, n = r.randint(1, 23), r.randint(1, 59), r.randint(2, 90)
    return r.choice([f"{h}h {m}m", f"{n} min", f"{n} business days", f"PT{h}H{m}M", f"{n} s", f"{n % 12 + 1} weeks", f"{n}d", f"{h}:{m:02d}:{n % 60:02d}"])


def _not_luhn(r: random.Random, n: int) -> str:
    return next(x for x in (_rand(r, string.digits, n) for _ in range(20)) if not luhn_ok(x))


def _postcode(r: random.Random) -> str:
    return r.choice([f"{r.randint(10000, 99999)}", f"{r.choice(UPPER)}{r.choice(UPPER)}{r.randint(1, 20)} {r.randint(1, 9)}{r.choice(UPPER)}{r.choice(UPPER)}",
                     f"{r.choice(UPPER)}{r.randint(1, 9)}{r.choice(UPPER)} {r.randint(1, 9)}{r.choice(UPPER)}{r.randint(1, 9)}", f"{r.randint(1000, 9999)}",
                     f"{r.randint(100000, 999999)}", f"{r.randint(1000, 9999)} {r.choice(UPPER)}{r.choice(UPPER)}"])


def _uuid(r: random.Random) -> str:
    h = _rand(r, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{r.choice('89ab')}{h[17:20]}-{h[20:]}"


FILLERS = {"ORDER": lambda r: f"{r.choice(['ORD', 'PO', 'SO', 'RMA'])}-{r.randint(10000, 999999)}", "DATE": _date, "DATE2": _date2, "TIME2": _time2,
           "PRICE": _price, "AMOUNT": _amount, "DUR": _duration, "TICKET": lambda r: f"{r.choice(['INC', 'SUP', 'HD', 'CASE'])}-{r.randint(1000, 99999)}",
           "INVOICE": lambda r: f"INV-{r.choice([2023, 2024, 2025])}-{r.randint(1, 9999):05d}",
           "TIME": lambda r: r.choice([f"{r.randint(7, 20)}:{r.choice(['00', '15', '30', '45'])}", f"{r.randint(1, 11)} {r.choice(['am', 'pm'])}"]),
           "TS": lambda r: f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z",
           "ISO": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}+0{r.randint(0, 5)}:00",
           "VER": lambda r: r.choice(["v", ""]) + ".".join(str(r.randint(0, 19)) for _ in range(r.choice([2, 3]))),
           "SEMVER": lambda r: r.choice(["v{a}.{b}.{c}", "{a}.{b}.{c}-rc.{n}", "{a}.{b}.{c}-beta.{n}", "v{a}.{b}", "{a}.{b}.{c}+build.{n}"]).format(
               a=r.randint(0, 9), b=r.randint(0, 30), c=r.randint(0, 20), n=r.randint(1, 9)),
           "BUILD": lambda r: f"{r.choice([2025, 2026])}{r.randint(1, 12):02d}{r.randint(1, 28):02d}.{r.randint(1, 30)}",
           "HASH": lambda r: _rand(r, HEX, r.choice([7, 8])), "HASH7": lambda r: _rand(r, HEX, 7), "SHA40": lambda r: _rand(r, HEX, 40),
           "SHA256": lambda r: _rand(r, HEX, 64), "UUID": _uuid, "TRACE": lambda r: _rand(r, HEX, 32), "BADCARD": lambda r: card(r, valid=False),
           "SKU": lambda r: f"{_rand(r, UPPER, 2)}-{r.randint(100, 9999)}-{r.choice(['BLK', 'WHT', 'L', 'XL', 'R2'])}",
           "PART": lambda r: r.choice([f"{r.randint(1000, 9999)}-{r.randint(1000, 9999)}-{r.randint(1, 99):02d}", f"A{r.randint(1000, 2999)}", f"{_rand(r, UPPER, 3)}{r.randint(100, 999)}{r.choice(UPPER)}"]),
           "ASIN": lambda r: "B0" + _rand(r, UPPER + string.digits, 8), "LOT": lambda r: f"L{r.randint(2301, 2612)}-{r.randint(100, 999)}",
           "EAN": lambda r: _not_luhn(r, 13), "REF10": lambda r: str(r.randint(10**9, 10**10 - 1)), "PO": lambda r: f"45{r.randint(0, 99999999):08d}",
           "TRACK": lambda r: r.choice([f"1Z{_rand(r, UPPER + string.digits, 3)}{_rand(r, UPPER, 3)}{r.randint(10**9, 10**10 - 1)}",
                                        f"{r.randint(1000, 9999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}", f"JD{r.randint(10**9, 10**10 - 1)}GB"]),
           "CASE": lambda r: f"{r.choice(['CS', 'SR', 'CAS'])}-{r.randint(10**9, 10**10 - 1)}", "MRN": lambda r: str(r.randint(10**6, 10**7 - 1)),
           "NUM": lambda r: str(r.randint(2, 480)), "AGE": lambda r: str(r.randint(19, 91)), "WEEK": lambda r: str(r.randint(1, 52)),
           "PCT": lambda r: f"{r.randint(1, 95)}.{r.randint(0, 9)}%", "PCT2": _pick(["99.95%", "-3.2%", "0.5 pp", "12%", "100%", "0.01%", "37.5 %"]),
           "DOSE": _pick(["250 mg", "5 mL", "0.5 mg/kg", "10 µg", "40 mg", "2 g", "100 IU"]), "MS": lambda r: str(r.randint(80, 9000)),
           "WEIGHT": lambda r: r.choice([f"{r.randint(1, 40)}.{r.randint(0, 9)} kg", f"{r.randint(2, 90)} lb"]),
           "MEAS": lambda r: r.choice([f"{r.randint(1, 40)}.{r.randint(0, 9)} kg", f"{r.randint(2, 180)} cm", f"{r.randint(5, 900)} nM"]),
           "SPEC": _pick(["1920x1080", "3840x2160", "3.5 GHz", "512 GB", "16 GiB", "12 V", "4.2 mmol/L", "220 V / 50 Hz", "24 in", "6.1 inch", "2.4 GHz / 5 GHz"]),
           "BP": lambda r: f"{r.randint(100, 165)}/{r.randint(60, 100)}", "HTTP": _pick(_words("200 201 204 301 302 400 401 403 404 409 429 500 502 503 504")),
           "PORT": _pick(["22", "443", "8080", "5432", "6379", "9092", "3389", "8443", "27017", "53"]), "PID": lambda r: str(r.randint(300, 65000)),
           "PROD": _pick(PRODUCTS), "PROT": _pick(PROTEINS), "CELL": _pick(CELLS), "GENE": _pick(GENES), "DRUG": _pick(DRUGS), "HEADING": _pick(HEADINGS),
           "ISO2": _pick(ISO2), "WEEKDAY": _pick(WEEKDAYS), "TITLE": _pick(TITLES), "POSTCODE": _postcode,
           "BIC": _pick(_words("DEUTDEFF COBADEFFXXX BNPAFRPP INGBNL2A BARCGB22 UBSWCHZH80A CITIUS33 ABNANL2A BSCHESMM")),
           "VAT": lambda r: r.choice([f"DE{r.randint(10**8, 10**9 - 1)}", f"GB{r.randint(10**8, 10**9 - 1)}", f"NL{r.randint(10**8, 10**9 - 1)}B01", f"ATU{r.randint(10**7, 10**8 - 1)}"]),
           "DOB": lambda r: r.choice([f"{r.randint(1950, 2004)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}", f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(1950, 2004)}"])}

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
The package weighs {WEIGHT} and measures 40 x 30 x 12 cm. || SKU {SKU} is back in stock at {PRICE}. || Ticket {TICKET} closed: could not reproduce on {VER}. || Reminder: the quarterly review moved to {DATE} at {TIME}. || Rebooted node-{NUM} after the kernel update; uptime reset. || Please use the staging cluster for load tests, not production.
Serial number {BADCARD} is printed on the back of the router. || Build {NUM} failed at the lint step ({MS} ms) on commit {HASH}. || The inhibitor binds {PROT} with a Kd of {NUM} nM. || Median follow-up was {NUM} days; {PCT} of participants were female. || Cache hit ratio is {PCT} after enabling {PROD}. || Revenue grew {PCT} quarter over quarter to {PRICE}. || Thanks, that fixed it!
Can we push the release to {DATE}? || Port {PORT} is now closed on the public load balancer. || Version {VER} deprecates the legacy export endpoint. || Dosage: {DOSE} every 6 hours as needed. || Store the reagents at -20 °C and thaw on ice before use. || Meeting notes: agreed to freeze the schema until {DATE}. || Customer asked whether order {ORDER} can be split into two shipments.
Confocal imaging shows {PROT} and {PROT} co-localise in the nucleus. || Reference number {BADCARD} does not match any payment in the ledger. || Action item: update the runbook for {PROD} failover. || Disk usage on /var hit {PCT}; rotated the logs. || Western blot confirmed reduced {PROT} levels after {NUM} h of treatment. || Release {VER} is tagged as {HASH}.
Great work everyone, the launch went smoothly. || Due to maintenance, checkout will be unavailable for {NUM} minutes from {TIME} UTC. || Part {SKU} replaces {SKU}; both fit the 2019 chassis. || Incident {TICKET} resolved: the root cause was an expired TLS certificate. || The cohort included {NUM} mice, {NUM} of which received the vehicle control. || Average handle time dropped from {NUM} to {NUM} seconds.
Barcode {BADCARD} was scanned twice at the warehouse dock. || Spring sale: {PCT} off all accessories until {DATE}. || Error code E{NUM} means the printer tray is empty. || Apply patch {VER} before enabling the new scheduler. || Quarterly numbers are due {DATE}; use the template in the shared drive. || Statistical significance was set at p < 0.05 (two-sided).
Pipeline {HASH} deployed {NUM} pods in {MS} ms. || Order {ORDER}: {NUM} units of {SKU} at {PRICE} each. || The enzyme was incubated at 37 °C for {NUM} minutes. || Monthly active users reached {NUM}k, up {PCT}. || Security updates were applied to all workstations on {DATE}. || Shipment {ORDER} weighs {WEIGHT}; customs value {PRICE}. || Tumour volume fell by {PCT} in the treated arm (n = {NUM}).
Please attach logs from {VER} and the output of the health check. || Budget for the offsite is {PRICE}, approved on {DATE}. || Return {ORDER} approved; label code {SKU}.
"""
MORE_PII_TEMPLATES = r"""
Please contact {NAME} about the renewal before {DATE}. || Contact {FIRST} in accounts payable if the PO is missing. || For access, contact {TITLE} {LAST} in the research office. || Contact person: {NAME} ({ORG}).
Patient {NAME}, {AGE}F, admitted via the ED with shortness of breath; attending {TITLE} {LAST}. || Pt {NAME}, {AGE}M, MRN {MRN}, seen at {HOSP} for follow-up of hypertension.
Referred by {TITLE} {LAST} for a second opinion; started {DRUG} {DOSE} daily. || Discharge summary for {NAME}: stable, review at {HOSP} in two weeks. || Next of kin for {FIRST}: {NAME}, {PHONE}.
Clinic note: {FIRST} reports dizziness since {DATE}; BP {BP}. Plan discussed with {TITLE} {NAME}. || {LAST}, {AGE}, transferred from {HOSP} to {HOSP} overnight.
Please confirm with {FIRST} that the {CITY} shipment left the warehouse. || Confirm with {NAME} before you close {TICKET}. || Escalate to {NAME} if the vendor misses the {DATE} deadline.
Escalated to {FIRST} (team lead) after {NUM} failed attempts. || {NAME}'s manager approved the overtime on {DATE}. || {FIRST}'s manager wants a summary by {WEEKDAY}.
Change request {TICKET} was signed off by {NAME} on {DATE}. || Signed off by {TITLE} {LAST}, {ORG} legal. || I'm writing on behalf of {NAME}, who is travelling to {LOC} this week.
On behalf of {ORG}, {NAME} accepted the terms on {DATE}. || {NAME} from {ORG} will join the call at {TIME}. || {FIRST} from {STARTUP} asked for a sandbox account.
Pager: {NAME} (on-call) acknowledged the alert at {TIME}. || On-call this week: {FIRST} (primary), {FIRST} (secondary). || Incident commander: {NAME}; scribe: {FIRST}.
[{TIME}] {FIRST}: did anyone restart the payments worker? || [{TIME}] {FIRST}: yes, {FIRST} did it from the jump host || {FIRST}: lgtm, merging || {FIRST} joined the channel.
{FIRST} reacted to your message in #incidents || {FIRST}: can't make standup, dentist || {FIRST} left a comment: "numbers look off for {COUNTRY}"
CRM note: spoke to {NAME} ({ORG}); wants a quote for {NUM} seats by {DATE}. || Account owner changed from {NAME} to {NAME}. || Lead source: webinar. Contact: {NAME}, {CITY}. Next step: demo with {FIRST}.
Opportunity {ORDER} closed-lost; {LAST} chose {STARTUP} instead. || Called {TITLE} {LAST} at {ORG}; gatekeeper said to email instead. || Champion at {ORG} is {NAME}; economic buyer unknown.
HR note: {NAME} requested flexible hours; approved by {FIRST}. || Probation review for {NAME} is due {DATE}; reviewer {NAME}. || Offer accepted: {NAME}, start date {DATE}, location {CITY}.
Grievance filed by {NAME} against a colleague in the {CITY} office; HR contact {FIRST}. || Performance improvement plan for {LAST} ends on {DATE}. || {NAME} resigned; last day {DATE}, exit interview with {FIRST}.
Minutes ({DATE}). Present: {NAME}, {NAME}, {NAME}. Apologies: {FIRST}. || Chair: {NAME}. Secretary: {NAME}. || {FIRST} to circulate the draft; {FIRST} to book a room in {CITY}.
AOB: {NAME} retires at the end of the quarter; farewell lunch TBC. || Decision log: {LAST} and {LAST} agreed to drop the {CITY} pilot. || Minutes approved as read; proposed by {LAST}, seconded by {LAST}.
{TS} INFO audit actor="{NAME}" action=export records={NUM} || {TS} WARN hr-sync: duplicate employee "{NAMELF}" (ids {NUM} and {NUM}) || user.display_name="{NAME}" user.email="{EMAIL}" event=login_failed
[{TS}] approve_expense by={NAME} amount={PRICE} || {TS} DEBUG crm: updated contact {NAME} <{EMAIL}> owner={FIRST} || {TS} INFO booking confirmed guest="{NAMELF}" city="{CITY}"
name: {NAME}; email: {EMAIL}; phone: {PHONE} || "{NAMELF}",{EMAIL},{CITY},{COUNTRY} || {NAMELF};{EMAIL};{ORG} || First name: {FIRST} | Last name: {LAST} | City: {CITY}
row {NUM}: {NAME}, Finance, {CITY} || Employee: {NAMELF} / Dept: Logistics / Site: {TOWN} || Guest list: {NAMELF}; {NAMELF}; {NAMELF}
{NAME} will present the roadmap on {DATE}. || {FIRST}, {FIRST} and {FIRST} are out on {DATE}. || Shortlist: {NAME}, {NAME} and {NAME}. || Approved: {NAME}. || Thanks to {FIRST} and {FIRST} for the quick turnaround.
{LAST} disagrees with the estimate. || {FIRST} thinks we should wait for {VER}. || Not sure {FIRST} saw this. || {FIRST} is right, the cache was stale. || {NAME}: out sick today. || Owner: {FIRST}
Reviewers: {NAME}, {NAME} || {FIRST} and I will handle the {CITY} migration. || Ping {FIRST} when the build is green. || Ask {LAST} in legal. || Sent to {FIRST} for review.
As discussed with {FIRST}, we will pause the rollout. || Per {LAST}'s email, the deadline is {DATE}. || {FIRST} says hi. || Happy birthday {FIRST}! || Welcome {NAME} to the data platform team!
Goodbye and good luck, {FIRST}! || {TITLE} {LAST} will see you at {TIME}. || {TITLE} {NAME} has joined the board of {ORG}. || Dear {TITLE} {LAST}, thank you for your application to {UNI}.
Attn: {TITLE} {NAME}, Accounts Payable, {ORG} || {LAST} signed, {LAST} did not. || {FIRST} {LAST} and {FIRST} {LAST} swapped shifts. || {FIRST} has the keys; {LAST} has the alarm code.
Interview panel for the {CITY} role: {NAME}, {NAME} and {TITLE} {LAST}. || {FIRST} asked whether {FIRST} could cover the {TOWN} site visit.
Access requests: mailto:{EMAIL} || <a href="mailto:{EMAIL}">{NAME}</a> || Please send the signed NDA to {EMAIL}. || Forwarded message from {NAME} <{EMAIL}>
Questions? Ask the platform team ({EMAIL}). || Service account {EMAIL} lacks the storage.objects.get permission. || alertmanager: receiver=ops-email to={EMAIL}
Author: {NAME} <{EMAIL}> || Signed-off-by: {NAME} <{EMAIL}> || Co-authored-by: {NAME} <{EMAIL}> || To: {EMAIL}; Cc: {EMAIL} || Distribution list {EMAIL} now includes the {CITY} office.
SMTP 550 5.1.1 <{EMAIL}>: Recipient address rejected || The signup form rejected {EMAIL} as invalid. || cert-manager sends expiry notices to {EMAIL}. || {EMAIL} owns the {PROD} project.
Reply-To: {EMAIL} || {NAME} [{EMAIL}] commented on {TICKET} || Invoices go to {EMAIL}, statements to {EMAIL}. || Contact the DPO at {EMAIL}. || Bounced: {EMAIL} (user unknown)
The {ORG} office in {NEIGH} closes early on {DATE}. || Ship to: {NAME}, {POSTCODE} {CITY}, {COUNTRY} || Remit to {ORG}, PO Box {NUM}, {CITY} {POSTCODE}
Our warehouse moved from {TOWN} to {TOWN}. || Field engineer dispatched to {TOWN} ({REGION}). || Flights from {CITY} to {TOWN} are cancelled because of the storm. || The pilot clinic in {TOWN} is run by {HOSP}.
{NGO} volunteers in {REGION} need laptops by {DATE}. || Donation of {PRICE} to {NGO} matched by {ORG}. || {AGENCY} fined {ORG} {PRICE} for a breach affecting users in {COUNTRY}.
Collaboration between {UNI} and {UNI} on malaria vaccines, funded by {NGO}. || We bank with {BANK} in {COUNTRY} and {BANK} elsewhere. || {STARTUP} raised a Series B; {NAME} is the new CTO.
Payroll moves from {ORG} to {STARTUP} in {COUNTRY}. || Remote hire based in {TOWN}, {COUNTRY}; equipment ships from {CITY}. || Candidate relocating from {NEIGH} to {TOWN}. || Customer site visit: {ORG}, {NEIGH}.
Data residency: customers in {COUNTRY} are served from the {CITY} region. || Regulator {AGENCY} asked for the DPIA by {DATE}. || {HOSP} and {UNI} share the biobank. || The {TOWN} depot reported {NUM} damaged parcels.
Storm warning for {REGION}; the {TOWN} site is closed. || Visa appointment at the consulate in {CITY} on {DATE}. || {NAME} grew up in {TOWN} and studied at {UNI}. || Our {COUNTRY} subsidiary banks with {BANK}.
Partner NGO {NGO} runs the clinics in {REGION} with {HOSP}. || The {STARTUP} integration is live in {COUNTRY} and {COUNTRY}. || Team offsite: {TOWN}, {REGION}, {DATE}. || Coworking desk in {NEIGH} for {FIRST}.
Call me on {PHONE} after {TIME}. || Tel.: {PHONE} / Fax: {PHONE} || Mobile: {PHONE}, office: {PHONE}. || WhatsApp {FIRST} on {PHONE} for the gate code. || The courier left a card asking us to ring {PHONE}.
{NAME} ({ORG}) · {PHONE} · {EMAIL} || SMS from {PHONE}: your code expires in 10 minutes || Pharmacy at {HOSP} called from {PHONE} about {DRUG}. || Number ported: {PHONE} now rings at the {CITY} branch.
IVR log: caller {PHONE} pressed 3 for billing. || Our new fax number is {PHONE}. || {TS} INFO twilio: inbound call from {PHONE} routed to queue sales || Weekend duty phone: {PHONE}.
Last night someone tried {CARD} on the {CITY} store's terminal. || Stored card {CARD} (exp 11/28) must be tokenised before the migration. || cardNumber={CARD}&cvv=***&amount={NUM}
Customer {FIRST} read out card {CARD} to the chatbot. || Travel card for {NAME}: {CARD}, limit {PRICE}. || Dispute {TICKET}: the cardholder says {CARD} was never used in {COUNTRY}.
PAN {CARD} found in the support mailbox export. || Use {CARD} for the {STARTUP} subscription, not the personal one. || {CARD} - gift purchase, ship to {CITY}. || Virtual card {CARD} issued for the {ORG} trial.
Please debit {CARD} for the deposit; the guest is {NAME}. || {TS} WARN pci-scan: PAN-like value {CARD} in column notes
Kindly remit {PRICE} to IBAN {IBAN}, account holder {NAME}. || IBAN: {IBAN} BIC: {BIC} || Neue Bankverbindung ab {DATE}: {IBAN}. || Bankgegevens: {IBAN} t.n.v. {NAME}. || Le salaire de {NAME} sera versé sur {IBAN}.
Cuenta IBAN {IBAN} a nombre de {ORG}. || Vendor onboarding form from {ORG} lists {IBAN} and VAT ID {VAT}. || SEPA credit transfer {ORDER} to {IBAN} rejected: invalid BIC.
Please verify {IBAN} by phone with {NAME} before paying. || The remittance advice shows {IBAN}; our records say {IBAN}. || {TS} INFO payouts: beneficiary_iban={IBAN} status=pending
SSN: {SSN} | DOB: {DOB} | Name: {NAME} || Employee ID {NUM}, SSN {SSN}, hired {DATE}. || {TS} ERROR kyc: SSN {SSN} failed verification (name mismatch: {NAME}) || Spouse: {NAME}, SSN {SSN}.
For tax year 2025, use {SSN} on the 1099 for {NAME}. || Medicare enrollee {NAME}, SSN {SSN}, {HOSP}. || {FIRST}, can you check whether {SSN} is already in the system? || Taxpayer ID (SSN): {SSN}
The PDF had SSN {SSN} in its metadata. || Dependent {FIRST}, SSN {SSN}, age {AGE}. || Applicant SSN {SSN} matches two records in {STATE}.
AWS_ACCESS_KEY_ID={AKIA} || Authorization: token {GHP} || SLACK_BOT_TOKEN={XOX} was pasted into the {CITY} team's wiki. || stripe.api_key = "{STRIPE}" || OPENAI_API_KEY={OAI}
Firebase apiKey {GKEY} leaked in the {VER} bundle. || The session token {JWT} shows up in the access logs. || db_password: {SECRET} || secret_key = '{SECRET}'
client_secret={SECRET}&grant_type=client_credentials || {NAME} rotated {KEY} after the offboarding. || Leaked credentials: {AKIA} and password {SECRET}.
Gateway: {IP4}, DNS: {IP4} || NAT translates {IP4} to {IP4}. || {NAME} connected from {IP} via the {CITY} VPN. || WAF blocked {IP6} ({COUNTRY}). || {TS} sshd: invalid user admin from {IP} port {PORT}
"""
HARD_NEG_TEMPLATES = r"""
Order {REF10} was delivered to the loading dock. || ref {REF10} - payment received, thanks. || Invoice #{REF10} is overdue by {NUM} days. || PO {PO} approved; delivery expected in week {WEEK}.
Case {REF10} has been closed. Reply to reopen. || Tracking {TRACK} shows the parcel in transit. || Ticket #{REF10} escalated to tier 3. || Case {CASE} reopened by the customer.
Release {SEMVER} ships on {DATE2}; {SEMVER} is end-of-life. || Nightly build {BUILD} passed all {NUM} suites. || Total due: {AMOUNT} (net 30). || Budget approved: {AMOUNT} for {DATE2}.
Monthly burn is about {AMOUNT}. || Maintenance window: {DATE2} {TIME2} to {TIME2} UTC. || Timestamp {ISO} is out of range for the partition. || Deadline moved from {DATE2} to {DATE2}.
The job ran for {DUR} and processed {NUM} files. || SLA: respond within {DUR}, resolve within {DUR}. || Conversion rate moved from {PCT} to {PCT}. || Error budget remaining: {PCT2}.
Screen {SPEC}, CPU {SPEC}, storage {SPEC}. || Blood pressure {BP} mmHg, heart rate {NUM} bpm. || Start {DRUG} {DOSE} once daily; review in {DUR}. || {DRUG} interacts with {DRUG}; check levels weekly.
{GENE} mutations were found in {PCT} of samples. || Variant {GENE} c.{NUM}G>A was classified as benign. || Part number {PART} replaces {PART}. || ASIN {ASIN} has {NUM} reviews.
Commit {HASH7} reverts {HASH7}. || Reverted commit {SHA40}. || Image digest sha256:{SHA256} matches the signed manifest. || Request ID {UUID} failed with HTTP {HTTP}.
trace_id={TRACE} span_id={HASH}{HASH} status=ERROR || Correlation-Id: {UUID} || Listening on port {PORT}; health check at /healthz. || Upstream returned HTTP {HTTP} after {MS} ms.
Supported markets: {ISO2}, {ISO2} and {ISO2}. || Agenda item 2: {HEADING} || {HEADING} (draft for comment) || See section 4.2, {HEADING}. || Sprint {NUM} starts {WEEKDAY}; retro on {WEEKDAY}.
Lot {LOT} expires {DATE2}; store below 25 °C. || EAN {EAN} does not match the catalogue entry. || VAT ID {VAT} is missing from the invoice header. || Meter reading on {DATE2}: {NUM} kWh.
Flight LH{NUM} departs gate B{NUM} at {TIME2}. || Exit code 137 (OOMKilled) on pod worker-{HASH7}-{NUM}. || Latency p99 {MS} ms, p50 {MS} ms, error rate {PCT2}. || Order {REF10}: {NUM} units at {AMOUNT}.
Hope this helps! || Will the migration finish before the freeze? || Mark the ticket as resolved once QA signs off. || Grace period for renewals is {NUM} days. || Bill the customer for {NUM} hours at the standard rate.
Chase the supplier for the missing delivery note on PO {PO}. || Reading the logs, the retry storm started at {TIME2}. || Nice catch, the timeout was in seconds, not milliseconds. || Split the PR into smaller commits, please.
Mobile checkout conversion is down {PCT} week over week. || Summer hours start on {DATE2}: the office closes at 3 pm on Fridays. || Black Friday traffic peaked at {NUM}k requests per second.
Long story short: the cron job ran twice on {DATE2}. || Can you re-run the flaky test on build {BUILD}? || Air Jordan restock: SKU {SKU} is limited to two pairs per order. || Upgrade Ruby on Rails to {SEMVER} before the audit.
All times are Zulu time; the burn ran from {TIME2} to {TIME2}. || RAG status is Amber for the data migration. || Park the feature until after the audit. || King-size duvet, SKU {SKU}, back in stock at {AMOUNT}.
Young's modulus of the sample was {NUM} GPa. || Green build on main after {NUM} retries. || White paper draft {SEMVER} is in the shared folder. || Upgrade the service to Java 21 before {DATE2}.
June close: all journals must be posted by the 3rd. || Rose gold units ship in {DUR}. || Sky blue is the default accent colour in the new theme. || Will do, closing {CASE} now.
Please update your IBAN in the billing portal. || Your SSN is never stored in plain text. || Enter your card number in the secure form, never in chat. || API key rotation is scheduled for {DATE2}.
Bearer tokens expire after {DUR}. || Email addresses are hashed before export. || Phone numbers must include the country code. || The password must be at least 14 characters long.
Reset links expire after {DUR}; request a new one from the login page. || Monday standup moved to Tuesday at {TIME}. || {DRUG} {DOSE} twice daily, HbA1c 53 mmol/mol. || Room B-{NUM}, building 4, floor 2.
Shipment {TRACK} cleared customs on {DATE2}. || Refund ref {REF10} processed; allow {DUR}. || PO {PO} line 20: {NUM} units of part {PART}.
Case {CASE}: the customer confirmed the fix on {SEMVER}. || Order #{REF10} contains {NUM} items totalling {AMOUNT}. || Deployed {SEMVER} ({HASH7}) to staging at {TIME2}.
Pinned the base image to sha256:{SHA256}. || Idempotency-Key: {UUID} || Session {UUID} expired after {DUR} of inactivity. || {HEADING}: {NUM} open items, due {DATE2}.
{GENE} and {GENE} were the most frequently altered genes in the cohort. || The release train leaves {WEEKDAY} at {TIME}; code freeze is {WEEKDAY}.
HTTP {HTTP} on /api/v2/orders/{REF10}; retry with backoff. || Disk {SPEC} at {PCT2} utilisation on node-{NUM}. || Shipping is paused for {ISO2} and {ISO2} until the tariff review.
Temperature excursion: 9.5 °C for {NUM} minutes in cold room 3. || Warranty claim {CASE} covers part {PART} only. || Commit {SHA40} introduced the regression. || Ticket {TICKET} duplicates {TICKET}; closing.
Customer number {REF10} is linked to contract {INVOICE}. || Store #{NUM} reported {AMOUNT} in returns on {DATE2}. || Cost centre {NUM}-{NUM} exceeded its budget by {PCT}.
Release Notes {SEMVER}: fixed the CSV export and the dark theme. || Please review the Data Retention Policy before {DATE2}. || Hope you had a good weekend; the backlog is groomed.
Autumn release is feature-frozen on {DATE2}. || {DRUG} {DOSE} as needed, at most three doses a day. || Jira keys ENG-{NUM} and PLAT-{NUM} are linked to {TICKET}. || Dataset: {NUM} rows, {NUM} columns, {PCT2} missing. || Exchange rate EUR/USD closed at 1.0{NUM}. || Backup of {DATE2} is {SPEC}, checksum {HASH7}.
"""
# Non-name uses of words that are also in a name, place or organisation list; the leak check ignores them (month names next to a day or year
# are handled by NOT_NAME_RE too).
NOT_NAMES = _bars("""Can you|Can we|Can someone|Will the|Will do|Hope this|Hope you|Autumn release|Mark the|Grace period|Bill the|Chase the|Reading the|Nice catch|Split the|Mobile checkout|Mobile:|Summer hours|
Black Friday|Long story|Air Jordan|Ruby on Rails|Zulu time|RAG status is Amber|Park the|King-size|Young's modulus|Green build|White paper|Java 21|June close|Rose gold|Sky blue""")
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


def _alt(words: list[str]) -> str:
    return "(?:" + "|".join(map(re.escape, sorted(set(words), key=len, reverse=True))) + ")"


LOCATIONS = set(CITIES + TOWNS + NEIGHBOURHOODS + COUNTRIES + STATES + REGIONS)
ORGANIZATIONS = set(COMPANIES + STARTUPS + NGOS + UNIS + HOSPITALS + BANKS + AGENCIES)
LEXICON = set(FIRST + LAST) | LOCATIONS | ORGANIZATIONS
LEAK_RE = re.compile(r"(?<!\w)" + _alt(list(LEXICON)) + r"(?!\w)")
NOT_NAME_RE = re.compile(_alt(NOT_NAMES) + "|" + _alt(MONTHS) + r"(?= \d)|(?<=\d )" + _alt(MONTHS) + r"\b")
F_RE, L_RE = _alt(FIRST), _alt(LAST)
PERSON_RE = re.compile(rf"{F_RE}(?: [A-Z]\.)?(?: {F_RE})?(?: {L_RE}(?:-{L_RE})?)?|{L_RE}(?:, {F_RE})?")
SHAPE_RE = re.compile(r"\w@\w|AKIA|ghp_|xox[bp]-|sk_live_|\bsk-|AIza|eyJ|::|\b\d{3}[- ]\d{2}[- ]\d{4}\b|\(\d{3}\) ?\d{3}|\b\d{3}[-.]\d{3}[-.]\d{4}\b|(?<!\d)\+\d|\b\d{1,3}(?:\.\d{1,3}){3}\b")
KEY_RE = re.compile(r"AKIA[A-Z0-9]{16}|ghp_[A-Za-z0-9]{36}|xox[bp]-\d{10,13}-\d{10,13}-[A-Za-z0-9]{24}|sk_live_[A-Za-z0-9]{24}|sk-[A-Za-z0-9]{40,}|"
                    r"AIza[\w-]{35}|eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{40,}|[0-9a-f]{32}|[0-9a-f]{40}|[A-Za-z0-9]{32,40}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf'(?:"[a-z0-9 ._-]+"|[A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9])?)@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}')
VALID = {"EMAIL_ADDRESS": lambda v: EMAIL_RE.fullmatch(v) and ".." not in v,
         "PHONE_NUMBER": lambda v: re.fullmatch(r"\+?[\d ().-]+", v) and 9 <= len(re.sub(r"\D", "", v)) <= 13,
         "CREDIT_CARD": lambda v: re.fullmatch(r"\d[\d -]+\d", v) and len(re.sub(r"\D", "", v)) in (15, 16) and luhn_ok(re.sub(r"\D", "", v)),
         "IBAN_CODE": lambda v: IBAN_LEN.get(v[:2]) == len(s := v.replace(" ", "")) and int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1,
         "US_SSN": lambda v: (m := re.fullmatch(r"(\d{3})([- ])(\d{2})\2(\d{4})", v)) and m[1] not in ("000", "666") and m[1] < "900" and m[3] != "00" and m[4] != "0000",
         "IP_ADDRESS": lambda v: not ipaddress.ip_address(v).is_loopback, "API_KEY": KEY_RE.fullmatch,
         "PERSON": lambda v: PERSON_RE.fullmatch(v) and v.split()[0] not in TITLES, "LOCATION": lambda v: v in LOCATIONS, "ORGANIZATION": lambda v: v in ORGANIZATIONS}


def _span_problem(text: str, s: dict, prev: int) -> str | None:
    value = text[s["start"]:s["end"]]
    return ("offsets do not give the value" if value != s["value"] else "overlap or unsorted" if s["start"] < prev
            else "empty or padded" if not value or value != value.strip() else "unknown type" if s["type"] not in TYPES
            else "invalid value" if not VALID[s["type"]](value) else "trailing punctuation" if value[-1] in ".,;" and s["type"] != "PERSON" else None)


def check(text: str, spans: list[dict], used: Counter) -> None:
    """Fail loudly on a wrong offset, overlap, invalid value, or a sensitive-looking string outside every span.

    Outside the spans, a name / place / organisation list entry may appear only inside a listed non-name phrase (NOT_NAMES, or a month
    name next to a day or year); ``used`` counts the phrases so that unused ones can be reported."""
    prev, masked = 0, text
    for s in spans:
        if problem := _span_problem(text, s, prev):
            raise SystemExit(f"bad span ({problem}): {s} in {text!r}")
        prev, masked = s["end"], masked[:s["start"]] + "\0" * (s["end"] - s["start"]) + masked[s["end"]:]
    for m in NOT_NAME_RE.finditer(masked):
        used[m[0]] += 1
        masked = masked[:m.start()] + "\0" * len(m[0]) + masked[m.end():]
    leak = LEAK_RE.search(masked) or SHAPE_RE.search(masked)
    leak = leak or next((m for m in re.finditer(r"\d(?:[ -]?\d){12,18}", masked) if luhn_ok(re.sub(r"\D", "", m[0]))), None)
    if leak:
        raise SystemExit(f"unlabelled sensitive-looking text {leak[0]!r} in {text!r}")


def template_coverage() -> Counter:
    pii, neg = _templates(PII_TEMPLATES) + _templates(MORE_PII_TEMPLATES), _templates(NEG_TEMPLATES) + _templates(HARD_NEG_TEMPLATES)
    cov = Counter(t for tpl in pii for t in {LABELLED[s][0] for s in SLOT.findall(tpl) if s in LABELLED})
    short = {t: cov[t] for t in TYPES if cov[t] < 40}
    if short or any(s in LABELLED for tpl in neg for s in SLOT.findall(tpl)) or not all(SLOT.search(t) for t in pii):
        raise SystemExit(f"template coverage too low {short}, a negative template has a labelled slot, or a PII template has none")
    if bad := [p for p in NOT_NAMES if not LEAK_RE.search(p)]:
        raise SystemExit(f"NOT_NAMES entries with no list entry in them: {bad}")
    return cov


def _sentences(r: random.Random) -> list[dict]:
    seen, used, records = set(), Counter(), []
    blocks = [(PII_TEMPLATES, PII_REPS), (MORE_PII_TEMPLATES, PII_REPS), (NEG_TEMPLATES, NEG_REPS), (HARD_NEG_TEMPLATES, NEG_REPS)]
    for template, reps in [(t, reps) for block, reps in blocks for t in _templates(block)]:
        for _ in range(reps if SLOT.search(template) else 1):
            text, spans = next((x for x in (render(template, r) for _ in range(50)) if x[0] not in seen), (None, None))
            if text is None:
                raise SystemExit(f"cannot make a new sentence from {template!r}")
            check(text, spans, used)
            seen.add(text)
            records.append({"text": text, "spans": [{k: s[k] for k in ("start", "end", "type")} for s in spans]})
    if unused := [p for p in NOT_NAMES if not used[p]]:
        raise SystemExit(f"NOT_NAMES entries never used: {unused}")
    return records


def generate(seed: int) -> list[dict]:
    r = random.Random(seed)
    records = _sentences(r)
    r.shuffle(records)
    freq, strata = Counter(t for rec in records for t in {s["type"] for s in rec["spans"]}), defaultdict(list)
    for rec in records:
        kinds = {s["type"] for s in rec["spans"]}
        strata[min(kinds, key=lambda t: (freq[t], t)) if kinds else "NONE"].append(rec)
    for group in strata.values():
        for i, rec in enumerate(group):
            rec["split"] = "dev" if i < round(len(group) * DEV_FRACTION) else "test"
    out = [{"id": i, "split": rec["split"], "text": rec["text"], "spans": rec["spans"], **({} if rec["spans"] else {"negative": True})}
           for i, rec in enumerate(records)]
    test_spans = Counter(s["type"] for rec in out if rec["split"] == "test" for s in rec["spans"])
    for typ in TYPES:
        if {rec["split"] for rec in out if any(s["type"] == typ for s in rec["spans"])} != {"dev", "test"}:
            raise SystemExit(f"{typ} is missing from a split")
        if test_spans[typ] < MIN_TEST_SPANS[typ]:
            raise SystemExit(f"{typ} has {test_spans[typ]} spans in test, fewer than {MIN_TEST_SPANS[typ]}")
    return out


def summary(records: list[dict], cov: Counter) -> str:
    n = Counter((r["split"], bool(r.get("negative"))) for r in records)
    lines = [f"{len(records)} sentences: " + ", ".join(f"{sp} {n[sp, True] + n[sp, False]} ({n[sp, True]} negative, no PII)" for sp in ("dev", "test")),
             f"{'type':<14} {'templates':>9} {'sent dev':>9} {'sent test':>9} {'spans dev':>9} {'spans test':>10}"]
    for typ in TYPES:
        sent = Counter(r["split"] for r in records if any(s["type"] == typ for s in r["spans"]))
        spans = Counter(r["split"] for r in records for s in r["spans"] if s["type"] == typ)
        lines.append(f"{typ:<14} {cov[typ]:>9} {sent['dev']:>9} {sent['test']:>9} {spans['dev']:>9} {spans['test']:>10}")
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
