"""What only Airflow uses: assets, DAG defaults and the task functions the DAG files call."""
