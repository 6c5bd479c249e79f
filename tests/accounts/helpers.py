import re

from sms.providers.sandbox import sandbox_outbox

REGISTRATION = {
    "email": "amina@example.com",
    "first_name": "Amina",
    "last_name": "Juma",
    "phone_number": "+255614853618",
    "password": "SecurePassword123!",
    "password_confirm": "SecurePassword123!",
    "timezone": "Africa/Dar_es_Salaam",
    "business_name": "My Business",
    "company_name": "My Company",
    "subdomain": "mybusiness",
    "country": "Tanzania",
}


def sent_code(phone: str) -> str:
    """The 6-digit code in the newest sandbox SMS to `phone`."""
    (entry,) = sandbox_outbox(to=phone, limit=1)
    return re.search(r"\b(\d{6})\b", entry["text"]).group(1)
