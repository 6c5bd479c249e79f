from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """pg_trgm in the public schema, visible from every tenant schema's search_path."""

    dependencies = []
    operations = [TrigramExtension()]
