"""Public services for citizens (为民服务): a site apart from the police console, where a
citizen, once the verification service confirms who they are, asks for certificates about
themselves, looks up their vehicle's violations and reports lost or found property; the
certificates are PDFs signed by the platform that anyone verifies offline (docs/public-services.md)."""
