"""The recruitments service: user-involved hiring with structured scoring."""
