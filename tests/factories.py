import factory

from accounts.models import User
from tenants.models import Membership, Role
from tenants.services import tenant_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone_number = factory.Sequence(lambda n: f"+2557{n:08d}")
    is_active = True
    phone_verified = True
    password = factory.django.Password("Correct-Horse-9")


def tenant_with_owner(*, owner=None, name="Acme Traders", subdomain=""):
    owner = owner or UserFactory()
    return tenant_create(owner=owner, name=name, subdomain=subdomain), owner


def add_member(tenant, user=None, role=Role.AGENT, status=Membership.Status.ACTIVE):
    user = user or UserFactory()
    Membership.objects.create(tenant=tenant, user=user, role=role, status=status)
    return user
