"""What an import tells its caller: rows imported, updated and skipped, and the bad rows as
{row, field, message} (the first MAX_REPORTED_ERRORS of them, in row order)."""

from dataclasses import dataclass, field

MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    imported_count: int = 0
    updated_count: int = 0
    skipped_count: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def total_processed(self) -> int:
        return self.imported_count + self.updated_count + self.skipped_count

    def add_error(self, row: int, field_name: str, message: str) -> None:
        self.skipped_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "field": field_name, "message": message})

    @classmethod
    def combined(cls, *reports: "ImportReport") -> "ImportReport":
        errors = sorted((e for r in reports for e in r.errors), key=lambda e: e["row"])
        return cls(
            sum(r.imported_count for r in reports),
            sum(r.updated_count for r in reports),
            sum(r.skipped_count for r in reports),
            errors[:MAX_REPORTED_ERRORS],
        )

    def as_dict(self) -> dict:
        return {
            "imported_count": self.imported_count,
            "updated_count": self.updated_count,
            "skipped_count": self.skipped_count,
            "total_processed": self.total_processed,
            "errors": self.errors,
        }
