# Half of each page of contacts is left free, so that marking a send's contacts contacted
# (messages.contacts_mark_contacted: last_contacted_at, which no index covers) writes each new
# row version beside the old one (a HOT update) instead of on another page, with an entry in
# every index, the two GIN ones among them. 100,000 contacts: 4.9 s -> 0.27 s, for twice the
# heap (docs/BENCHMARKS.md). Pages written before keep no room until their old versions are
# vacuumed away; from then on they have it.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0004_handover'),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE messaging_contact SET (fillfactor = 50)",
            "ALTER TABLE messaging_contact RESET (fillfactor)",
        ),
    ]
