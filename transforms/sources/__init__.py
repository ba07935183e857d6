"""Source formats mapped into the one claims contract (schemas/inputs.py: medical_claim, eligibility).

Validation and the measure engine read only the contract tables. A source is one mapper and its tests:

- ``contract``: files already in the contract (Tuva input-layer names); read as they are.
- ``tuva``: Tuva's input layer (e.g. the output of Tuva's Medicare CCLF connector) is the contract with more
  columns; its mapping chooses the billing TIN (``billing_tin``, else ``rendering_tin``) and says which was used.
- ``cclf``: CMS Claim and Claim Line Feed files (CCLF5, CCLF8, CCLF9) read as CMS publishes them, adjustments and
  cancellations applied, written as contract files that are then validated as usual.
"""
