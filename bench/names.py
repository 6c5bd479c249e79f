"""Names of Tanzanians for the benchmarks' contacts: a first name, a father's name and a
family name, distinct for each n below MOST_NAMES (bench/campaigns.py builds the same in SQL)."""

# Contact n's name is FIRST[n % F] FIRST[n / F % F] FAMILY[n / F^2 % L]: distinct for n < F^2 L.
FIRST_NAMES = """
Amina Juma Neema Baraka Rehema Hassan Zawadi Emmanuel Halima Joseph Mwanaisha Daudi Upendo Said
Grace Musa Saida John Fatuma Peter Asha Ibrahim Esther Salim Mariam Elia Zuhura Athumani Happiness
Yusuph Tatu Godfrey Faraja Ramadhani Agnes Omari Subira Frank Mwajuma Shabani Winfrida Rashidi
Imani Paulo Khadija Bakari Lucy Hamisi Pendo Selemani Anna Abdallah Furaha Charles Zainabu Issa
Witness Ally Rukia Gabriel Saumu Kassim Jesca Hussein Nasra Stephano Eliza Mussa Rose Jumanne
Mwanahawa Erasto Veronica Idd Sophia Nassoro Joyce Mohamed Glory Hemedi Catherine Abeid Janeth
Mbaraka Martha Seif Editha Kheri Prisca Mfaume Devota Hamza Restituta Salehe Consolata Nuru
Beatrice Shukuru Modesta Mashaka Scholastica Tumaini
""".split()  # noqa: SIM905 (names read better as text than as 100 quoted strings)
FAMILY_NAMES = """
Mushi Massawe Mollel Kimaro Lyimo Swai Temba Mrema Urassa Shirima Minja Mbwambo Mfinanga Kweka
Lema Mtei Macha Njau Tarimo Laizer Sanga Mwakyusa Mwakalinga Mwaipopo Kyando Mbilinyi Ngowi
Kavishe Chuwa Mallya Kisanga Komba Haule Ndunguru Nchimbi Mapunda Kapinga Ngonyani Luoga Chande
Mbaga Kessy Lukumay Nnko Munuo Assenga Shayo Mmbaga Kileo Marandu Materu Moshi Mariki Lasway
Sarakikya Kiwelu Mushumbusi Rwegoshora Kamugisha Byabato Rweyemamu Katabaro Kahwa Nshala Mutayoba
Masanja Maganga Makoye Shija Kulwa Nkwabi Mabula Ngassa Lubeleje Malima Nyanda Mgeta Chacha Marwa
Mwita Wambura Nyamhanga Magesa Kisusi Msuya Mnzava Mziray Shekilango Kombo Mzee Hamad Vuai Makame
Juma Ameir Chum Mlay Ulomi Kijazi Mwasomola
""".split()  # noqa: SIM905
MOST_NAMES = len(FIRST_NAMES) ** 2 * len(FAMILY_NAMES)


def contact_name(n: int) -> str:
    first, family = len(FIRST_NAMES), len(FAMILY_NAMES)
    return (
        f"{FIRST_NAMES[n % first]} {FIRST_NAMES[n // first % first]} "
        f"{FAMILY_NAMES[n // first**2 % family]}"
    )
